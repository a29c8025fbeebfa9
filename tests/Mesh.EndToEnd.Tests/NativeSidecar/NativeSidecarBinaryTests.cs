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
        var config = WriteShopSidecar(upstream.Port);
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

    [Theory]
    [InlineData(MeshProcess.Sidecar, "mesh-sidecar: listening:", null, true)]
    [InlineData(MeshProcess.Mesh, "mesh sidecar: listening:", null, true)]
    [InlineData(MeshProcess.Sidecar, "mesh-sidecar: listening:", "0", false)]
    public async Task Run_SocketCompletionsRunInline_OnOneSocketThread_UnlessTheOperatorSetsTheVariables(string dll, string listeningLine, string? operatorValue, bool inline)
    {
        await using var upstream = await TestApp.NamedAsync("inventory says hi");
        var config = WriteShopSidecar(upstream.Port);
        string[] args = dll == MeshProcess.Mesh ? ["sidecar", "--config", config] : ["--config", config];
        await using var process = MeshProcess.StartDll(dll, start =>
        {
            // The inline-completions default follows the configuration (SidecarProcessSettings.ApplyFor): on for this plaintext sidecar.
            foreach (var (name, _) in SidecarProcessSettings.Defaults)
                start.Environment.Remove(name);
            start.Environment.Remove(global::Mesh.Common.Hosting.RuntimeVariables.InlineSocketCompletions);
            if (operatorValue is not null)
                start.Environment[global::Mesh.Common.Hosting.RuntimeVariables.InlineSocketCompletions] = operatorValue;
            return Process.Start(start)!;
        }, args);
        var listening = await process.WaitForLineAsync(l => l.StartsWith(listeningLine, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var ports = System.Text.RegularExpressions.Regex.Matches(listening, @"http://127\.0\.0\.1:(\d+)/").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        int outbound = ports[0], admin = ports[2];

        // Inline completions show in the runtime's own count of thread-pool work items (exported on
        // /metrics): without them every socket read is one, so a proxied request makes two or more.
        using var http = new HttpClient();
        var before = await ThreadPoolWorkItems(http, admin);
        const int requests = 200;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (var i = 0; i < requests / 4; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{outbound}/stock") { Headers = { Host = "inventory" } };
                using var response = await http.SendAsync(request);
                Assert.Equal("inventory says hi", await response.Content.ReadAsStringAsync());
            }
        }));
        // The exporter serves a scrape from its cache for 300 ms: read again only after that.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var perRequest = (await ThreadPoolWorkItems(http, admin) - before) / (double)requests;

        if (inline)
            Assert.True(perRequest < 0.5, $"{perRequest:0.00} thread-pool work items per request: socket completions are not inline");
        else
            Assert.True(perRequest > 1, $"{perRequest:0.00} thread-pool work items per request: completions inline although the operator turned them off");
        // One engine thread, which the runtime names ".NET Sockets" (with completions inline it would start one per core).
        Assert.Equal(1, Directory.GetDirectories($"/proc/{process.Id}/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets"));
    }

    private static async Task<long> ThreadPoolWorkItems(HttpClient http, int admin)
    {
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{admin}/metrics");
        var line = metrics.Split('\n').Single(l => l.StartsWith("dotnet_thread_pool_work_item_count_total", StringComparison.Ordinal));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    // A sidecar for "shop" on port 0 everywhere, routing "inventory" to the given port.
    private string WriteShopSidecar(int inventoryPort) => Write("sidecar.yaml", $"""
        service: {"{"} name: shop {"}"}
        listeners: {"{"} outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 {"}"}
        drainTime: 0s
        endpoints:
          inventory: [ {"{"} id: inv-1, address: 127.0.0.1, port: {inventoryPort} {"}"} ]
        """);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
