// `mesh-sidecar` as a user runs it: its own process, the same options as `mesh sidecar`. This is
// its ordinary (JIT) build; the benchmark smoke at the end of ./test.sh publishes and runs the
// native (Native AOT) build over mTLS.
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

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
