using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class SidecarConfigLoaderTests
{
    private const string Full = """
        service:
          name: catalog
          version: v2
          weight: 50
          zone: eu-1
          labels: { team: shop }
        app:
          address: http://127.0.0.1:8080
        registry:
          addresses: [http://10.0.0.1:7000, http://10.0.0.2:7000]
        listeners:
          outbound: 127.0.0.1:15001
          inbound: { address: "0.0.0.0:15006", protocols: h2c }
        upstream:
          protocol: http2
        limits:
          maxRequestBodySize: 1MB
        drainTime: 2s
        defaults:
          timeout: 3s
          retries: { attempts: 2, retryOn: [connect-failure, 503] }
        endpoints:
          reviews:
            - { id: r1, address: 10.0.0.5, port: 15006, version: v1, weight: 90 }
        routes:
          - name: reviews-canary
            match:
              hosts: [reviews]
              pathPrefix: /api
              methods: [get]
              headers:
                - { name: x-canary, exact: "true" }
            service: reviews
            split:
              - { version: v1, weight: 90 }
              - { version: v2, weight: 10 }
            timeout: 250ms
            loadBalancing: PowerOfTwoChoices
            outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 10s }
            rateLimit: { requestsPerSecond: 100, burst: 20 }
        """;

    [Fact]
    public void Parse_FullExample_ReadsEveryField()
    {
        var config = SidecarConfigLoader.Parse(Full);

        Assert.Equal("catalog", config.Service.Name);
        Assert.Equal("v2", config.Service.Version);
        Assert.Equal(50, config.Service.Weight);
        Assert.Equal("shop", config.Service.Labels["team"]);
        Assert.Equal(2, config.Registry.Addresses.Count);
        Assert.Equal(15001, config.Listeners.Outbound.Port);
        Assert.Equal(ListenerProtocols.H2c, config.Listeners.Inbound.Protocols);
        Assert.Equal("0.0.0.0", config.Listeners.Inbound.Address);
        Assert.Equal(15000, config.Listeners.Admin.Port);
        Assert.Equal(UpstreamProtocol.Http2, config.Upstream.Protocol);
        Assert.Equal(1024 * 1024, config.Limits.MaxRequestBodySize);
        Assert.Equal(TimeSpan.FromSeconds(2), config.DrainTime);
        Assert.Equal(TimeSpan.FromSeconds(3), config.Defaults.Timeout);
        Assert.Equal(2, config.Defaults.Retries.Attempts);
        Assert.Equal([503], config.Defaults.Retries.RetryOnStatusCodes);
        Assert.True(config.Defaults.Retries.RetryOnConnectFailure);
        var endpoint = Assert.Single(Assert.Single(config.Endpoints).Endpoints);
        Assert.Equal(("r1", 90, "v1"), (endpoint.Id, endpoint.Weight, endpoint.Version));
        var route = Assert.Single(config.Routes);
        Assert.Equal(["reviews"], route.Match.Hosts);
        Assert.Equal(["GET"], route.Match.Methods);
        Assert.Equal(HeaderMatchMode.Exact, route.Match.Headers[0].Mode);
        Assert.Equal([90, 10], route.Split.Select(s => s.Weight));
        Assert.Equal(["reviews", "reviews"], route.Split.Select(s => s.Service));
        Assert.Equal(TimeSpan.FromMilliseconds(250), route.Timeout);
        Assert.Equal("PowerOfTwoChoices", route.LoadBalancing);
        Assert.Equal(3, route.OutlierDetection!.ConsecutiveFailures);
        Assert.Equal(100, route.RateLimit!.RequestsPerSecond);
        Assert.Null(route.Retries);
    }

    [Fact]
    public void Parse_Minimal_UsesDefaults()
    {
        var config = SidecarConfigLoader.Parse("service: { name: catalog }");

        Assert.Equal(("127.0.0.1", 15001), (config.Listeners.Outbound.Address, config.Listeners.Outbound.Port));
        Assert.Equal(("0.0.0.0", 15006), (config.Listeners.Inbound.Address, config.Listeners.Inbound.Port));
        Assert.Equal(("127.0.0.1", 15000), (config.Listeners.Admin.Address, config.Listeners.Admin.Port));
        Assert.Equal("WeightedRandom", config.Defaults.LoadBalancing);
        Assert.Equal(3, config.Defaults.Retries.Attempts);
        Assert.Equal(TimeSpan.FromSeconds(15), config.Defaults.Timeout);
    }

    [Theory]
    [InlineData("h2c")]
    [InlineData("http2")]
    public void Parse_AppProtocolH2c_ForwardsToTheAppOverHttp2(string protocol)
    {
        var config = SidecarConfigLoader.Parse($"service: {{ name: catalog }}\napp: {{ address: http://127.0.0.1:8080, protocol: {protocol} }}\n");

        Assert.Equal(UpstreamProtocol.Http2, config.App.Protocol);
    }

    [Theory]
    [InlineData("h2c")]
    [InlineData("http2")]
    public void Parse_UpstreamProtocolH2c_ForwardsToEndpointsOverHttp2(string protocol)
    {
        var config = SidecarConfigLoader.Parse($"service: {{ name: catalog }}\nupstream: {{ protocol: {protocol} }}\n");

        Assert.Equal(UpstreamProtocol.Http2, config.Upstream.Protocol);
    }

    [Fact]
    public void Parse_MaxStreamsPerConnection_SetsHowManyStreamsOneConnectionCarries()
    {
        Assert.Equal(100, SidecarConfigLoader.Parse("service: { name: catalog }").Limits.MaxStreamsPerConnection);

        var config = SidecarConfigLoader.Parse("service: { name: catalog }\nlimits: { maxStreamsPerConnection: 16 }\n");

        Assert.Equal(16, config.Limits.MaxStreamsPerConnection);
    }

    [Fact]
    public void Parse_MaxStreamsPerConnectionZero_SaysItMustBePositive()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("service: { name: catalog }\nlimits: { maxStreamsPerConnection: 0 }\n"));

        Assert.Contains("limits.maxStreamsPerConnection: must be > 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AppProtocolUnknown_NamesTheChoices()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("service: { name: catalog }\napp: { protocol: h3 }\n"));

        Assert.Contains("app.protocol: must be one of http1, http2, h2c, not 'h3'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ManyProblems_ReportsEveryOneWithLineAndPath()
    {
        var yaml = """
            service:
              weight: -1
            listeners:
              outbound: 127.0.0.1:15001
              admin: 127.0.0.1:15001
            defaults:
              timeout: soon
            routes:
              - name: a
                service: catalog
                loadBalancing: Fastest
              - name: a
                match: { pathPrefix: api }
                service: catalog
                tiemout: 1s
              - name: c
                split:
                  - { service: catalog, version: v1, weight: 90 }
                  - { service: catalog, version: v2, weight: 0 }
                retries: { attempts: 2, retryOn: [503, sometimes] }
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));
        var lines = error.Errors.Select(e => e.ToString()).ToList();

        Assert.Contains("sidecar.yaml:2: service.name: is required", lines);
        Assert.Contains("sidecar.yaml:2: service.weight: must be >= 0", lines);
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:5: listeners.admin: port 15001 is already used by listeners.outbound", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:7: defaults.timeout: must be a duration", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:11: routes[0].loadBalancing: unknown policy 'Fastest'", StringComparison.Ordinal));
        Assert.Contains("sidecar.yaml:12: routes[1].name: duplicate route name 'a'", lines);
        Assert.Contains("sidecar.yaml:13: routes[1].match.pathPrefix: must start with '/'", lines);
        Assert.Contains("sidecar.yaml:15: routes[1].tiemout: unknown field", lines);
        Assert.Contains("sidecar.yaml:19: routes[2].split[1].weight: must be > 0", lines);
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:20: routes[2].retries.retryOn[1]: must be an HTTP status code", StringComparison.Ordinal));
        Assert.Equal(10, lines.Count);
        Assert.Contains("10 configuration error(s)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TimeoutLongerThanAnyTimer_NamesTheLongest()
    {
        var yaml = """
            service: { name: web }
            routes:
              - name: slow
                service: catalog
                timeout: 50d
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));

        Assert.Equal("sidecar.yaml:5: routes[0].timeout: must be at most 49d, not '50d' (no timer waits longer)", Assert.Single(error.Errors).ToString());
    }

    [Fact]
    public void Parse_SyntaxError_ReportsLine()
    {
        var yaml = "service:\n  name: catalog\nroutes:\n  - name: [unclosed\n";

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml, "bad.yaml"));

        var only = Assert.Single(error.Errors);
        Assert.Equal("bad.yaml", only.File);
        Assert.InRange(only.Line, 4, 5);
        Assert.StartsWith("YAML syntax error", only.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRoute_JsonDocumentFromRegistry_TakesNameFromKey()
    {
        var json = """{ "match": { "hosts": ["catalog"] }, "service": "catalog", "split": [ { "version": "v1", "weight": 1 } ] }""";

        var route = SidecarConfigLoader.ParseRoute(json, "/config/routes/catalog", "catalog");

        Assert.Equal("catalog", route.Name);
        Assert.Equal("v1", Assert.Single(route.Split).Version);
    }

    [Fact]
    public void ParseRoute_MissingService_ReportsPath()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.ParseRoute("name: x\nsplit:\n  - { weight: 5 }\n", "/config/routes/x", "x"));

        Assert.Contains(error.Errors, e => e.ToString() == "/config/routes/x:3: split[0].service: is required when the route has no service:");
    }
}
