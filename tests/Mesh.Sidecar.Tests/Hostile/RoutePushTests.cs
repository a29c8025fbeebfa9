// Invalid route documents pushed to the registry (written around `mesh ctl apply`, which would
// have validated them): malformed YAML, malformed JSON, binary junk, nonsense values. Each is
// refused with a logged error and shown in /config_dump and a gauge, while the last good route
// table keeps serving; a later good push takes effect and clears the error.
using System.Text;
using System.Text.Json;
using Mesh.Registry.Client;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.Telemetry;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Hostile;

[Collection(RunsAlone.Name)]
public sealed class RoutePushTests
{
    private const string Document = "/config/routes/catalog";

    private static readonly string[] InvalidDocuments =
    [
        "match: { hosts: [catalog\nsplit: [",
        """{ "match": { "hosts": ["catalog"] }, "split": [ { "version": "v2", """,
        "\u0000\u0001\u0002\u00ff binary",
        "match: { hosts: [catalog] }\nsplit:\n  - { service: catalog, version: v2, weight: -5 }\n",
        "- just\n- a list\n",
    ];

    [Fact]
    public async Task InvalidRoutePushes_AreRejectedAndLogged_TheLastGoodTableKeepsServing_AndAGoodPushClearsThem()
    {
        await using var v1 = await TestApp.NamedAsync("v1");
        await using var v2 = await TestApp.NamedAsync("v2");
        await using var cluster = await TestCluster.StartAsync(size: 1);
        using var registry = new RegistryClient(cluster.Nodes[0]!.ClientUrl.ToString());
        await registry.CreateAsync(Document, Encoding.UTF8.GetBytes(Route("v1")), createParents: true);
        var logs = new CapturedLogs();
        var config = TestSidecar.Config($"""
            endpoints:
              catalog:
            {TestSidecar.Endpoint("a", v1, "v1")}
            {TestSidecar.Endpoint("b", v2, "v2")}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions
        {
            RouteSource = new RegistryRouteSource(registry, []),
            ConfigureLogging = logging => logging.AddProvider(logs),
        });
        using var client = TestSidecar.Client(sidecar, "catalog");
        await Eventually.TrueAsync(async () => await client.GetStringAsync("/") == "v1", "the first good route never took effect", TestCluster.Timeout);

        var previous = "";
        foreach (var invalid in InvalidDocuments)
        {
            await registry.SetAsync(Document, Encoding.UTF8.GetBytes(invalid));
            string? problem = null;
            await Eventually.TrueAsync(async () => (problem = await RouteErrorAsync(sidecar, "catalog")) is not null && problem != previous,
                $"push {JsonSerializer.Serialize(invalid)} was not reported in /config_dump; logs: {string.Join(" | ", logs.Entries.Select(e => e.Message))}", TestCluster.Timeout);
            previous = problem!;

            for (var i = 0; i < 20; i++)
                Assert.Equal("v1", await client.GetStringAsync("/"));
        }
        await Eventually.TrueAsync(async () => await RejectedGaugeAsync(sidecar) == 1, "the rejected-routes gauge never showed the bad document", TestCluster.Timeout);
        Assert.Equal(InvalidDocuments.Length, logs.Entries.Count(e => e.Level == LogLevel.Error && e.Message.StartsWith("Route document catalog rejected", StringComparison.Ordinal)));

        await registry.SetAsync(Document, Encoding.UTF8.GetBytes(Route("v2")));
        await Eventually.TrueAsync(async () => await client.GetStringAsync("/") == "v2", "a good push after bad ones never took effect", TestCluster.Timeout);
        Assert.Null(await RouteErrorAsync(sidecar, "catalog"));
        await Eventually.TrueAsync(async () => await RejectedGaugeAsync(sidecar) == 0, "the rejected-routes gauge never cleared", TestCluster.Timeout);
    }

    private static string Route(string version) => $"match: {{ hosts: [catalog] }}\nservice: catalog\nsplit:\n  - {{ version: {version}, weight: 100 }}\n";

    /// <summary>The gauge as scraped; polled, since the exporter caches a scrape for a moment.</summary>
    private static async Task<double> RejectedGaugeAsync(SidecarHost sidecar) =>
        (await Scrape.GetAsync(sidecar.AdminUrl)).Sum("mesh_sidecar_config_routes_rejected");

    /// <summary>The problem /config_dump reports for <paramref name="document"/>; null when none.</summary>
    private static async Task<string?> RouteErrorAsync(SidecarHost sidecar, string document)
    {
        var dump = await ConfigDump.ReadAsync(sidecar.AdminUrl);
        return dump.RouteErrors.TryGetValue(document, out var problem) ? problem : null;
    }
}
