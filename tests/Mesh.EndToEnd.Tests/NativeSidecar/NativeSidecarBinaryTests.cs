// `mesh-sidecar` as a user runs it: its own process, the same options as `mesh sidecar`. This is
// its ordinary (JIT) build; the benchmark smoke at the end of ./test.sh publishes and runs the
// native (Native AOT) build over mTLS.
using System.Diagnostics;
using System.Net.Http;
using Mesh.Sidecar.Hosting;

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

        var (ok, okOutput) = await MeshProcess.RunAsync(MeshProcess.Sidecar, ["--config", valid, "--check"]);
        var (bad, badOutput) = await MeshProcess.RunAsync(MeshProcess.Sidecar, ["--config", invalid, "--check"]);

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
        await using var process = MeshProcess.StartDll(MeshProcess.Sidecar, "--config", config);

        // Bound at port 0: the sidecar says where it listens.
        var listening = await process.WaitForLineAsync(l => l.StartsWith("mesh-sidecar: listening:", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var ports = System.Text.RegularExpressions.Regex.Matches(listening, @"http://127\.0\.0\.1:(\d+)/").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        Assert.Equal(3, ports.Length);
        int outbound = ports[0], admin = ports[2];
        using var http = new HttpClient();
        await Eventually.TrueAsync(async () => (await http.GetAsync($"http://127.0.0.1:{admin}/readyz")).IsSuccessStatusCode,
            "mesh-sidecar never became ready", TimeSpan.FromSeconds(15));

        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{outbound}/stock") { Headers = { Host = "inventory" } };
        using var response = await http.SendAsync(request);
        Assert.Equal("inventory says hi", await response.Content.ReadAsStringAsync());

        Assert.True(process.Signal(MeshProcess.Sigterm));
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(ListeningSockets.IsListening(outbound), "the outbound listener is still open");
    }

    [SkippableTheory]
    [InlineData(MeshProcess.Sidecar, "mesh-sidecar: listening:", null, true)]
    [InlineData(MeshProcess.Mesh, "mesh sidecar: listening:", null, true)]
    [InlineData(MeshProcess.Sidecar, "mesh-sidecar: listening:", "0", false)]
    public async Task Run_SocketCompletionsRunInline_UnlessTheOperatorSetsTheVariable(string dll, string listeningLine, string? operatorValue, bool inline)
    {
        // Inline completions show as the runtime's socket engine threads: one per core with them,
        // one for every 30 cores without (docs/benchmarks.md "Runtime settings").
        Skip.If(Environment.ProcessorCount < 2, "one core: the socket engine has one thread either way");
        await using var upstream = await TestApp.NamedAsync("inventory says hi");
        var config = Write("sidecar.yaml", $"""
            service: {"{"} name: shop {"}"}
            listeners: {"{"} outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 {"}"}
            drainTime: 0s
            endpoints:
              inventory: [ {"{"} id: inv-1, address: 127.0.0.1, port: {upstream.Port} {"}"} ]
            """);
        string[] args = dll == MeshProcess.Mesh ? ["sidecar", "--config", config] : ["--config", config];
        await using var process = MeshProcess.StartDll(dll, start =>
        {
            start.Environment.Remove(SidecarProcessSettings.SpinLimitVariable);
            if (operatorValue is null)
                start.Environment.Remove(SidecarProcessSettings.InlineCompletionsVariable);
            else
                start.Environment[SidecarProcessSettings.InlineCompletionsVariable] = operatorValue;
            return Process.Start(start)!;
        }, args);
        var listening = await process.WaitForLineAsync(l => l.StartsWith(listeningLine, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var outbound = int.Parse(System.Text.RegularExpressions.Regex.Match(listening, @"http://127\.0\.0\.1:(\d+)/").Groups[1].Value);

        // A few connections, so the engines that exist are the ones the runtime spreads sockets over.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 });
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{outbound}/stock") { Headers = { Host = "inventory" } };
            using var response = await http.SendAsync(request);
            Assert.Equal("inventory says hi", await response.Content.ReadAsStringAsync());
        }));

        var engines = SocketEngineThreads(process.Id);
        if (inline)
            Assert.Equal(Environment.ProcessorCount, engines);
        else
            Assert.Equal(Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0)), engines);
    }

    // The runtime names each socket engine's epoll thread ".NET Sockets".
    private static int SocketEngineThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
