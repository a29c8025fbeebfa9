using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.RateLimiting;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class RateLimitConfigTests
{
    private static SidecarConfigException Fails(string yaml) =>
        Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml, "sidecar.yaml"));

    [Fact]
    public void Parse_FullRateLimitConfig_ReadsEveryField()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: catalog }
            routes:
              - name: reviews
                service: reviews
                rateLimit: { kind: slidingWindow, limit: 50, window: 10s, segmentsPerWindow: 5, key: "header:x-api-key", queue: 4, maxPartitions: 500 }
              - name: legacy
                service: reviews
                rateLimit: { requestsPerSecond: 100, burst: 20 }
            rateLimits:
              inbound:
                - { name: catalog-total, requestsPerSecond: 1000, meshWide: true }
                - name: per-caller
                  match: { pathPrefix: /api, methods: [get] }
                  kind: concurrency
                  limit: 8
                  key: caller
              outbound:
                reviews: { kind: fixedWindow, limit: 200, window: 1s, key: clientIp }
            """);

        var sliding = config.Routes[0].RateLimit!;
        Assert.Equal(new RateLimitOptions
        {
            Name = "reviews",
            Kind = RateLimitKind.SlidingWindow,
            Limit = 50,
            Window = TimeSpan.FromSeconds(10),
            SegmentsPerWindow = 5,
            Key = RateLimitKeyKind.Header,
            KeyHeader = "x-api-key",
            QueueLimit = 4,
            MaxPartitions = 500,
        }, sliding);
        var legacy = config.Routes[1].RateLimit!;
        Assert.Equal((RateLimitKind.TokenBucket, 100, 20, RateLimitKeyKind.Route), (legacy.Kind, legacy.RequestsPerSecond, legacy.EffectiveBurst, legacy.Key));
        Assert.True(config.RateLimits.Inbound[0].Limit.MeshWide);
        Assert.Equal(1000, config.RateLimits.Inbound[0].Limit.EffectiveBurst);
        Assert.Equal("/api", config.RateLimits.Inbound[1].PathPrefix);
        Assert.Equal(["GET"], config.RateLimits.Inbound[1].Methods);
        Assert.Equal(RateLimitKeyKind.Caller, config.RateLimits.Inbound[1].Limit.Key);
        Assert.Equal(RateLimitKeyKind.ClientIp, config.RateLimits.Outbound["reviews"].Key);
        Assert.Equal("upstream:reviews", config.RateLimits.Outbound["reviews"].Name);
    }

    [Fact]
    public void Parse_BadRateLimits_ReportsEveryFieldWithFileAndLine()
    {
        var error = Fails("""
            service: { name: catalog }
            routes:
              - name: a
                service: a
                rateLimit:
                  requestsPerSecond: -5
                  key: tenant
              - name: b
                service: b
                rateLimit: { kind: fixedWindow, limit: 10, window: 0s }
              - name: c
                service: c
                rateLimit: { kind: leakyBucket, requestsPerSecond: 1 }
              - name: d
                service: d
                rateLimit: { kind: concurrency, queue: -1 }
              - name: e
                service: e
                rateLimit: { kind: fixedWindow, limit: 3, requestsPerSecond: 9, burts: 2 }
            rateLimits:
              inbound:
                - { requestsPerSecond: 5, key: "header:" }
              outbound:
                reviews: { kind: slidingWindow, limit: 5, window: 1s, segmentsPerWindow: 0 }
            """);

        var lines = error.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("sidecar.yaml:6: routes[0].rateLimit.requestsPerSecond: must be > 0", lines);
        Assert.Contains("sidecar.yaml:7: routes[0].rateLimit.key: must be route, caller, clientIp or header:<name>, not 'tenant'", lines);
        Assert.Contains("sidecar.yaml:10: routes[1].rateLimit.window: must be > 0", lines);
        Assert.Contains("sidecar.yaml:13: routes[2].rateLimit.kind: must be one of tokenBucket, fixedWindow, slidingWindow, concurrency, not 'leakyBucket'", lines);
        Assert.Contains("sidecar.yaml:16: routes[3].rateLimit.queue: must be >= 0", lines);
        Assert.Contains("sidecar.yaml:16: routes[3].rateLimit.limit: must be > 0 (required for kind concurrency)", lines);
        Assert.Contains("sidecar.yaml:19: routes[4].rateLimit.requestsPerSecond: applies to kind tokenBucket only", lines);
        Assert.Contains("sidecar.yaml:19: routes[4].rateLimit.burts: unknown field", lines);
        Assert.Contains("sidecar.yaml:22: rateLimits.inbound[0].name: is required", lines);
        Assert.Contains("sidecar.yaml:22: rateLimits.inbound[0].key: header: needs a header name, e.g. header:x-api-key", lines);
        Assert.Contains("sidecar.yaml:24: rateLimits.outbound.reviews.segmentsPerWindow: must be > 0", lines);
    }

    [Fact]
    public void ParseRoute_RegistryDocument_BadRateLimitNamesTheField()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.ParseRoute(
            "service: x\nrateLimit:\n  kind: fixedWindow\n  limit: 0\n", "/config/routes/x", "x"));

        Assert.Contains(error.Errors, e => e.ToString() == "/config/routes/x:4: rateLimit.limit: must be > 0");
    }
}
