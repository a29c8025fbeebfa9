using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Outbound;

public sealed class EndpointPickerTests
{
    private const string Yaml = """
        service: { name: test }
        endpoints:
          catalog:
            - { id: v1-a, address: 10.0.0.1, port: 1, version: v1 }
            - { id: v1-b, address: 10.0.0.2, port: 1, version: v1 }
            - { id: v2-a, address: 10.0.0.3, port: 1, version: v2 }
        routes:
          - name: canary
            match: { hosts: [catalog] }
            service: catalog
            split:
              - { version: v1, weight: 90 }
              - { version: v2, weight: 10 }
        """;

    private static async Task<(CompiledRoute Route, StaticEndpointSource Source, EndpointCatalog Catalog)> BuildAsync()
    {
        var config = SidecarConfigLoader.Parse(Yaml);
        var source = new StaticEndpointSource(config.Endpoints);
        var catalog = new EndpointCatalog(source, TimeProvider.System, NullLogger.Instance);
        var table = new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), TimeProvider.System)
            .Compile(new RouteSnapshot(1, config.Routes));
        var cluster = catalog.GetOrWatch("catalog");
        for (var i = 0; i < 200 && cluster.Snapshot.All.Length < 3; i++)
            await Task.Delay(10);
        return (table.Routes[0], source, catalog);
    }

    [Fact]
    public async Task Pick_Split90To10_FollowsSplitWeights()
    {
        var (route, _, catalog) = await BuildAsync();
        await using var disposeCatalog = catalog;
        var picker = new EndpointPicker(new Random(42));
        long v1 = 0, v2 = 0;

        for (var i = 0; i < 10_000; i++)
        {
            if (picker.Pick(route, null, out _, out _)!.Endpoint.Version == "v1")
                v1++;
            else
                v2++;
        }

        Assert.True(ChiSquare.Statistic([v1, v2], [90, 10]) < ChiSquare.Critical(1), $"v1={v1} v2={v2}");
    }

    [Fact]
    public async Task Pick_VersionWithoutEndpoints_SendsItsShareToTheOther()
    {
        var (route, source, catalog) = await BuildAsync();
        await using var disposeCatalog = catalog;
        source.Publish(new ServiceEndpoints("catalog", 2, [new MeshEndpoint { Id = "v1-a", Address = "10.0.0.1", Port = 1, Version = "v1" }]));
        for (var i = 0; i < 200 && route.Backends[0].Cluster.Snapshot.All.Length != 1; i++)
            await Task.Delay(10);
        var picker = new EndpointPicker(new Random(42));

        for (var i = 0; i < 200; i++)
            Assert.Equal("v1-a", picker.Pick(route, null, out _, out _)!.Endpoint.Id);
    }

    [Fact]
    public async Task Pick_DoesNotAllocate()
    {
        var (route, _, catalog) = await BuildAsync();
        await using var disposeCatalog = catalog;
        var picker = new EndpointPicker(new Random(42));
        picker.Pick(route, null, out _, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            picker.Pick(route, null, out _, out _);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
