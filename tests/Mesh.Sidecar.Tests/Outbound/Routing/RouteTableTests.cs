using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Outbound.Routing;

public sealed class RouteTableTests
{
    private const string Routes = """
        service: { name: test }
        endpoints:
          catalog:
            - { address: 10.0.0.1, port: 1 }
          billing:
            - { address: 10.0.0.2, port: 1 }
        routes:
          - name: catalog-canary-header
            match: { hosts: [catalog], headers: [{ name: x-canary, exact: "yes" }] }
            service: catalog
          - name: catalog-api-get
            match: { hosts: [catalog, catalog.shop.internal], pathPrefix: /api/, methods: [GET, HEAD] }
            service: catalog
          - name: catalog-admin-authority
            match: { hosts: ["catalog:9000"] }
            service: catalog
          - name: any-host-health
            match: { pathPrefix: /health }
            service: billing
          - name: orders-beta
            match: { hosts: [orders], headers: [{ name: x-user, prefix: beta- }] }
            service: billing
        """;

    private static readonly RouteTable Table = Build();

    private static RouteTable Build()
    {
        var config = SidecarConfigLoader.Parse(Routes);
        var catalog = new EndpointCatalog(new StaticEndpointSource(config.Endpoints), TimeProvider.System, NullLogger.Instance);
        catalog.WatchKnownServices();
        var compiler = new RouteCompiler(config.Defaults, catalog, LoadBalancingPolicies.CreateAll(new Random(1)), TimeProvider.System);
        return compiler.Compile(new RouteSnapshot(1, config.Routes));
    }

    [Theory]
    [InlineData("catalog", "GET", "/api/items", "", "catalog-api-get")]
    [InlineData("catalog:15001", "GET", "/api", "", "catalog-api-get")]
    [InlineData("CATALOG", "HEAD", "/API/x", "", "catalog-api-get")]
    [InlineData("catalog.shop.internal", "GET", "/api/items", "", "catalog-api-get")]
    [InlineData("catalog", "GET", "/api/items", "x-canary=yes", "catalog-canary-header")]
    [InlineData("catalog", "GET", "/api/items", "x-canary=no", "catalog-api-get")]
    [InlineData("catalog:9000", "POST", "/", "", "catalog-admin-authority")]
    [InlineData("catalog", "GET", "/health", "", "any-host-health")]
    [InlineData("somewhere-else", "GET", "/health/live", "", "any-host-health")]
    [InlineData("orders", "GET", "/", "x-user=beta-42", "orders-beta")]
    [InlineData("billing", "GET", "/invoices", "", "service:billing")]
    [InlineData("[::1]:15001", "GET", "/health", "", "any-host-health")]
    public void Match_Request_PicksFirstMatchingRoute(string host, string method, string path, string header, string expected)
    {
        var status = Table.Match(host, path, method, Headers(header), out var route);

        Assert.Equal(RouteMatchStatus.Matched, status);
        Assert.Equal(expected, route!.Name);
    }

    [Theory]
    [InlineData("orders", "/", "x-user=alpha", "NoRoute")]
    [InlineData("catalog", "/apix", "", "NoRoute")]
    [InlineData("nobody", "/", "", "UnknownService")]
    public void Match_Request_ReportsWhyNothingMatched(string host, string path, string header, string expected)
    {
        Assert.Equal(expected, Table.Match(host, path, "GET", Headers(header), out var route).ToString());
        Assert.Null(route);
    }

    [Fact]
    public void Match_ExplicitRoutesOwnTheirHost_NoImplicitCatchAll()
    {
        Assert.Equal(RouteMatchStatus.NoRoute, Table.Match("catalog", "/api/items", "POST", Headers(""), out var route));
        Assert.Null(route);
    }

    [Fact]
    public void Match_Request_DoesNotAllocate()
    {
        var headers = Headers("x-canary=yes");
        Table.Match("catalog:15001", "/api/items", "GET", headers, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            Table.Match("catalog:15001", "/api/items", "GET", headers, out _);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static HeaderDictionary Headers(string header)
    {
        var headers = new HeaderDictionary();
        if (header.Length > 0)
        {
            var parts = header.Split('=');
            headers[parts[0]] = parts[1];
        }
        return headers;
    }
}
