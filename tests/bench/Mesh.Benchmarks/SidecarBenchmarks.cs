// Hot-path micro-benchmarks of the sidecar: route match and endpoint pick must not allocate.
// Run: dotnet run -c Release --project tests/bench/Mesh.Benchmarks -- --filter '*Sidecar*'
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Benchmarks;

[MemoryDiagnoser]
public class SidecarRouteMatchBenchmarks
{
    private RouteTable _table = RouteTable.Empty;
    private readonly HeaderDictionary _headers = new() { ["x-canary"] = "no" };

    [GlobalSetup]
    public void Setup()
    {
        var yaml = "service: { name: bench }\nroutes:\n" + string.Join("\n", Enumerable.Range(0, 50).Select(i => $$"""
              - name: r{{i}}
                match: { hosts: [svc{{i % 10}}], pathPrefix: /api/v{{i}}, methods: [GET], headers: [{ name: x-canary, exact: "yes" }] }
                service: svc{{i % 10}}
              - name: r{{i}}-plain
                match: { hosts: [svc{{i % 10}}], pathPrefix: /api/v{{i}} }
                service: svc{{i % 10}}
            """));
        var config = SidecarConfigLoader.Parse(yaml);
        var catalog = new EndpointCatalog(new StaticEndpointSource([]), TimeProvider.System, NullLogger.Instance);
        _table = new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), TimeProvider.System)
            .Compile(new RouteSnapshot(1, config.Routes));
    }

    [Benchmark]
    public object? MatchHostPathMethodHeader()
    {
        _table.Match("svc7:15001", "/api/v47/items", "GET", _headers, out var route);
        return route;
    }
}

[MemoryDiagnoser]
public class SidecarPickBenchmarks
{
    private EndpointSet _set = EndpointSet.Empty;
    private CompiledRoute? _route;
    private EndpointPicker? _picker;
    private readonly WeightedRandomPolicy _weighted = new(new Random(1));
    private readonly RoundRobinPolicy _roundRobin = new();
    private readonly LeastRequestsPolicy _leastRequests = new();
    private readonly PowerOfTwoChoicesPolicy _powerOfTwo = new(new Random(1));

    [Params(3, 100)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var endpoints = Enumerable.Range(0, Endpoints)
            .Select(i => new MeshEndpoint { Id = "e" + i, Address = "10.0.0." + (i % 250), Port = 15006, Weight = 1 + (i % 7), Version = i % 10 == 0 ? "v2" : "v1" })
            .ToList();
        _set = new EndpointSet([.. endpoints.Select(e => new EndpointState(e))]);

        var config = SidecarConfigLoader.Parse("""
            service: { name: bench }
            routes:
              - name: canary
                service: catalog
                split: [{ version: v1, weight: 90 }, { version: v2, weight: 10 }]
            """);
        var source = new StaticEndpointSource([new ServiceEndpoints("catalog", 1, endpoints)]);
        var catalog = new EndpointCatalog(source, TimeProvider.System, NullLogger.Instance);
        _route = new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), TimeProvider.System)
            .Compile(new RouteSnapshot(1, config.Routes)).Routes[0];
        var cluster = _route.Backends[0].Cluster;
        while (cluster.Snapshot.All.Length < Endpoints)
            Thread.Sleep(10);
        _picker = new EndpointPicker(new Random());
    }

    [Benchmark(Baseline = true)]
    public object? WeightedRandom() => _weighted.Pick(_set);

    [Benchmark]
    public object? RoundRobin() => _roundRobin.Pick(_set);

    [Benchmark]
    public object? LeastRequests() => _leastRequests.Pick(_set);

    [Benchmark]
    public object? PowerOfTwoChoices() => _powerOfTwo.Pick(_set);

    /// <summary>The whole concrete stage: split 90/10 by version, then weighted random.</summary>
    [Benchmark]
    public object? SplitThenWeightedRandom() => _picker!.Pick(_route!, null, out _, out _);
}
