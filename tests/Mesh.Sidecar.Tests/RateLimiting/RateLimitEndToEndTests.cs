using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.RateLimiting;

public sealed class RateLimitEndToEndTests
{
    [Fact]
    public async Task Outbound_RouteLimitExceeded_Answers429WithRetryAfterAndRateLimitHeaders()
    {
        var upstreamCalls = 0;
        await using var app = await TestApp.StartAsync(c => { Interlocked.Increment(ref upstreamCalls); return c.Response.WriteAsync("ok"); });
        var time = new FakeTimeProvider();
        var config = TestSidecar.Config($$"""
            drainTime: 0s
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("c1", app)}}
            routes:
              - name: route-x
                match: { hosts: [catalog] }
                service: catalog
                rateLimit: { requestsPerSecond: 2, burst: 2 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = time });
        using var client = TestSidecar.Client(sidecar, "catalog");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/a")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/a")).StatusCode);
        using var rejected = await client.GetAsync("/a");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal("1", rejected.Headers.GetValues("Retry-After").Single());
        Assert.Equal("\"route-x\";q=2;w=1", rejected.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal("\"route-x\";r=0;t=1", rejected.Headers.GetValues("RateLimit").Single());
        Assert.Equal("rate-limited", rejected.Headers.GetValues("x-mesh-error").Single());
        Assert.Equal(2, upstreamCalls);

        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/a")).StatusCode);
        Assert.Equal(3, upstreamCalls);
    }

    [Fact]
    public async Task Outbound_DestinationLimit_AppliesToEveryRouteToThatService()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            drainTime: 0s
            endpoints:
              reviews:
            {{TestSidecar.Endpoint("r1", app)}}
            rateLimits:
              outbound:
                reviews: { kind: fixedWindow, limit: 3, window: 1m }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = new FakeTimeProvider() });
        using var client = TestSidecar.Client(sidecar, "reviews");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
            statuses.Add((await client.GetAsync("/" + i)).StatusCode);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        using var rejected = await client.GetAsync("/");
        Assert.Equal("\"upstream:reviews\";q=3;w=60", rejected.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal("60", rejected.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task Inbound_PerCallerPolicy_KeepsCallersApartAndMatchesPath()
    {
        await using var app = await TestApp.NamedAsync("app");
        var config = TestSidecar.Config($$"""
            drainTime: 0s
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            rateLimits:
              inbound:
                - name: per-caller
                  match: { pathPrefix: /api }
                  key: caller
                  requestsPerSecond: 1
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = new FakeTimeProvider() });
        using var client = new HttpClient { BaseAddress = sidecar.InboundUrl };

        async Task<HttpStatusCode> Send(string path, string? caller)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (caller is not null)
                request.Headers.Add("x-mesh-caller", caller);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Send("/api/x", "web"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/api/x", "web"));
        Assert.Equal(HttpStatusCode.OK, await Send("/api/x", "batch"));
        Assert.Equal(HttpStatusCode.OK, await Send("/api/x", null));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/api/y", null));
        Assert.Equal(HttpStatusCode.OK, await Send("/health", "web"));   // outside the match
    }

    [Fact]
    public async Task ConfigDump_ShowsEnforcedLimitAndItsStage()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("c1", app)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                rateLimit: { kind: slidingWindow, limit: 10, window: 2s, key: "header:x-api-key" }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);

        var dump = await ConfigDump.ReadAsync(sidecar.AdminUrl);

        var rateLimit = dump.Routes[0].RateLimit!.Value;
        Assert.Equal("slidingWindow", rateLimit.GetProperty("kind").GetString());
        Assert.Equal("header:x-api-key", rateLimit.GetProperty("key").GetString());
        Assert.True(rateLimit.GetProperty("enforced").GetBoolean());
        Assert.Equal(10, rateLimit.GetProperty("stage")[0].GetProperty("effectiveLimit").GetDouble());
    }

    [Fact]
    public async Task ConfigDump_InboundAndClientSideLimits_ShowTheNumbersInForceAfterTheMeshShare()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            rateLimits:
              inbound:
                - { name: catalog-total, requestsPerSecond: 1000, meshWide: true }
                - name: per-caller
                  match: { pathPrefix: /api, methods: [GET] }
                  kind: slidingWindow
                  limit: 600
                  window: 1m
                  key: caller
              outbound:
                reviews: { kind: concurrency, limit: 64 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { RateLimitShare = new MeshShare(0.25) });

        var dump = await ConfigDump.ReadAsync(sidecar.AdminUrl);

        var limits = dump.RateLimits;
        Assert.Equal(0.25, limits.GetProperty("share").GetDouble());
        var inbound = limits.GetProperty("inbound");
        Assert.Equal(2, inbound.GetArrayLength());
        var total = inbound[0];
        Assert.Equal("catalog-total", total.GetProperty("name").GetString());
        Assert.Equal("/", total.GetProperty("pathPrefix").GetString());
        Assert.True(total.GetProperty("meshWide").GetBoolean());
        Assert.Equal(1000, total.GetProperty("requestsPerSecond").GetInt32());
        Assert.Equal(0.25, total.GetProperty("share").GetDouble());
        Assert.Equal(250, total.GetProperty("effectiveLimit").GetDouble());
        var perCaller = inbound[1];
        Assert.Equal("/api", perCaller.GetProperty("pathPrefix").GetString());
        Assert.Equal("GET", Assert.Single(perCaller.GetProperty("methods").EnumerateArray()).GetString());
        Assert.Equal("caller", perCaller.GetProperty("key").GetString());
        Assert.Equal(1, perCaller.GetProperty("share").GetDouble());
        Assert.Equal(600, perCaller.GetProperty("effectiveLimit").GetDouble());
        var reviews = limits.GetProperty("outbound").GetProperty("reviews");
        Assert.Equal("concurrency", reviews.GetProperty("kind").GetString());
        Assert.Equal(64, reviews.GetProperty("effectiveLimit").GetDouble());
    }

    [Fact]
    public async Task ConfigDump_NoRateLimits_ShowsAnEmptyPolicy()
    {
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config(""));

        var dump = await ConfigDump.ReadAsync(sidecar.AdminUrl);

        var limits = dump.RateLimits;
        Assert.Equal(1, limits.GetProperty("share").GetDouble());
        Assert.Equal(0, limits.GetProperty("inbound").GetArrayLength());
        Assert.Empty(limits.GetProperty("outbound").EnumerateObject());
    }
}
