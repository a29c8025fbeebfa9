// `mesh-sidecar` as a user runs it: its own process, the same options as `mesh sidecar`. This is
// its ordinary (JIT) build; the benchmark smoke at the end of ./test.sh publishes and runs the
// native (Native AOT) build over mTLS.
using System.Diagnostics;
using System.Net.Http;

namespace Mesh.EndToEnd.Tests.NativeSidecar;

public sealed class NativeSidecarBinaryTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-sidecar-test-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Check_AValidFile_SaysValid_AndAnInvalidOne_NamesTheProblem()
    {
        var valid = Write("valid.yaml", "service: { name: shop }\n");
        var invalid = Write("invalid.yaml", "service: { name: shop, wieght: 3 }\n");

        var (ok, okOutput) = await RunToEndAsync("--config", valid, "--check");
        var (bad, badOutput) = await RunToEndAsync("--config", invalid, "--check");

        Assert.Equal(0, ok);
        Assert.Contains("valid.yaml: valid", okOutput);
        Assert.Equal(2, bad);
        Assert.Contains("mesh-sidecar:", badOutput);
        Assert.Contains("invalid.yaml:1: service.wieght: unknown field", badOutput);
    }

    [Fact]
    public async Task Run_ForwardsThroughItsRoute_AndStopsCleanlyOnSigterm()
    {
        await using var upstream = await TestApp.NamedAsync("inventory says hi");
        var config = Write("sidecar.yaml", $"""
            service: {"{"} name: shop {"}"}
            listeners: {"{"} outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 {"}"}
            drainTime: 0s
            endpoints:
              inventory: [ {"{"} id: inv-1, address: 127.0.0.1, port: {upstream.Port} {"}"} ]
            """);
        using var lines = new System.Collections.Concurrent.BlockingCollection<string>();
        using var process = Start(lines, "--config", config);
        try
        {
            // Bound at port 0: the sidecar says where it listens.
            var listening = lines.GetConsumingEnumerable(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token)
                .First(l => l.StartsWith("mesh-sidecar: listening:", StringComparison.Ordinal));
            var ports = System.Text.RegularExpressions.Regex.Matches(listening, @"http://127\.0\.0\.1:(\d+)/").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
            Assert.Equal(3, ports.Length);
            int outbound = ports[0], admin = ports[2];
            using var http = new HttpClient();
            var ready = false;
            for (var i = 0; i < 150 && !ready; i++)
            {
                try
                {
                    ready = (await http.GetAsync($"http://127.0.0.1:{admin}/readyz")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(100);
                }
            }
            Assert.True(ready, "mesh-sidecar never became ready");

            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{outbound}/stock") { Headers = { Host = "inventory" } };
            using var response = await http.SendAsync(request);
            Assert.Equal("inventory says hi", await response.Content.ReadAsStringAsync());

            Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.Equal(0, process.ExitCode);
            Assert.False(ListeningSockets.IsListening(outbound), "the outbound listener is still open");
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static ProcessStartInfo MeshSidecar(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mesh-sidecar.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    private static Process Start(System.Collections.Concurrent.BlockingCollection<string> lines, params string[] args)
    {
        var process = Process.Start(MeshSidecar(args))!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                lines.Add(line);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<(int ExitCode, string Output)> RunToEndAsync(params string[] args)
    {
        using var process = Process.Start(MeshSidecar(args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
