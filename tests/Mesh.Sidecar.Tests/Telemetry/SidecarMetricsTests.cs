using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Telemetry;

// Each sidecar exports only the meters its own host created (see
// Metrics_TwoSidecarsInOneProcess_EachScrapeShowsOnlyItsOwnRejections); tests still use their own
// service and route names and assert on those labels only.
public sealed class SidecarMetricsTests
{
    [Fact]
    public async Task Metrics_AfterKnownRequests_ScrapeCountsThemByRouteServiceVersionAndStatus()
    {
        await using var app = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = context.Request.Path.StartsWithSegments("/fail") ? 500 : 200;
            return context.Response.WriteAsync("x");
        });
        // A service name of its own: meters are per process, and other tests' sidecars are "test".
        var config = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse("service:\n  name: metrics-self\n" + TestSidecar.Listeners + "\n" + $$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            endpoints:
              metrics-catalog:
            {{TestSidecar.Endpoint("c1", app, "v7")}}
            routes:
              - name: catalog-api
                match: { hosts: [metrics-catalog] }
                service: metrics-catalog
                retries: { attempts: 1 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "metrics-catalog");
        using var inboundClient = new HttpClient { BaseAddress = sidecar.InboundUrl };

        for (var i = 0; i < 12; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ok")).StatusCode);
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync("/fail")).StatusCode);
        using (var unknown = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Host = "metrics-nowhere" } })
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.SendAsync(unknown)).StatusCode);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await inboundClient.GetAsync("/in")).StatusCode);

        await Scrape.ShowingAsync(sidecar.AdminUrl, scrape =>
        {
            (string, string)[] route = [("route", "catalog-api"), ("destination_service", "metrics-catalog"), ("destination_version", "v7"), ("caller", "metrics-self")];
            Assert.Equal(12, scrape.Sum("http_client_request_duration_seconds_count", [.. route, ("status_class", "2xx")]));
            Assert.Equal(3, scrape.Sum("http_client_request_duration_seconds_count", [.. route, ("status_class", "5xx")]));
            Assert.Equal(12, scrape.Find("http_client_request_duration_seconds_bucket", [.. route, ("status_class", "2xx"), ("le", "+Inf")]).Single().Value);
            Assert.True(scrape.Sum("http_client_request_duration_seconds_sum", route) > 0);
            Assert.Equal(1, scrape.Sum("http_client_request_duration_seconds_count", ("route", "none"), ("destination_service", "unknown"), ("status_class", "5xx"), ("caller", "metrics-self")));
            Assert.True(scrape.Sum("mesh_sidecar_proxy_errors_total", ("direction", "outbound"), ("error", "unknown-service")) >= 1);
            // Inbound: the local service is the destination; a plaintext caller has no identity.
            Assert.Equal(5, scrape.Sum("http_server_request_duration_seconds_count", ("destination_service", "metrics-self"), ("status_class", "2xx"), ("caller", "unknown")));
            Assert.Equal(1, scrape.Sum("mesh_sidecar_endpoints", ("destination_service", "metrics-catalog"), ("health", "healthy")));
            Assert.Equal(0, scrape.Sum("mesh_sidecar_endpoints", ("destination_service", "metrics-catalog"), ("health", "ejected")));
            Assert.True(scrape.Has("mesh_sidecar_config_routes_index"));
            Assert.True(scrape.Has("mesh_sidecar_ready"));
            Assert.True(scrape.Has("kestrel_active_connections"), "Kestrel's connection gauge is exported");
            Assert.True(scrape.Sum("dotnet_gc_heap_total_allocated_bytes_total") > 0, "the runtime's allocation counter is exported");
            Assert.DoesNotContain("/ok", scrape.Text, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Metrics_RetriesAndEjections_AreCounted()
    {
        await using var good = await TestApp.NamedAsync("good");
        await using var bad = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              metrics-retry:
            {{TestSidecar.Endpoint("bad", bad)}}
            {{TestSidecar.Endpoint("good", good)}}
            routes:
              - name: retry-route
                match: { hosts: [metrics-retry] }
                service: metrics-retry
                retries: { attempts: 3, retryOn: [503], baseDelay: 0ms }
                loadBalancing: RoundRobin
                outlierDetection: { consecutiveFailures: 1, baseEjectionTime: 300s, maxEjectionPercent: 50 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "metrics-retry");

        for (var i = 0; i < 10; i++)
            Assert.Equal("good", await client.GetStringAsync("/"));

        await Scrape.ShowingAsync(sidecar.AdminUrl, scrape =>
        {
            // The bad endpoint answers once, is ejected, and that one request is retried on the good one.
            Assert.Equal(1, scrape.Sum("mesh_sidecar_outlier_ejections_total", ("destination_service", "metrics-retry")));
            Assert.Equal(1, scrape.Sum("mesh_sidecar_retries_total", ("route", "retry-route"), ("destination_service", "metrics-retry")));
            Assert.Equal(10, scrape.Sum("http_client_request_duration_seconds_count", ("route", "retry-route"), ("status_class", "2xx")));
            Assert.Equal(1, scrape.Sum("mesh_sidecar_endpoints", ("destination_service", "metrics-retry"), ("health", "ejected")));
            Assert.Equal(1, scrape.Sum("mesh_sidecar_endpoints", ("destination_service", "metrics-retry"), ("health", "healthy")));
        });
    }

    [Fact]
    public async Task Metrics_SpentRetryBudget_CountsRefusedRetries()
    {
        await using var bad = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var config = TestSidecar.Config($$"""
            defaults:
              retryBudget: { ratio: 0, minRetriesPerSecond: 0 }
            endpoints:
              metrics-budget:
            {{TestSidecar.Endpoint("bad", bad)}}
            routes:
              - name: budget-route
                match: { hosts: [metrics-budget] }
                service: metrics-budget
                retries: { attempts: 3, retryOn: [503], baseDelay: 0ms }
                outlierDetection: { consecutiveFailures: 0 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "metrics-budget");

        for (var i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/")).StatusCode);

        await Scrape.ShowingAsync(sidecar.AdminUrl, scrape =>
        {
            Assert.Equal(4, scrape.Sum("mesh_sidecar_retry_budget_exhausted_total", ("route", "budget-route")));
            Assert.Equal(0, scrape.Sum("mesh_sidecar_retries_total", ("route", "budget-route")));
            Assert.Equal(4, scrape.Sum("http_client_request_duration_seconds_count", ("route", "budget-route"), ("status_class", "5xx")));
        });
    }

    [Fact]
    public async Task Metrics_Disabled_AdminAnswers404AndRequestsStillFlow()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            telemetry:
              metrics: { enabled: false }
            endpoints:
              metrics-off:
            {{TestSidecar.Endpoint("a", app)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "metrics-off");

        Assert.Equal("ok", await client.GetStringAsync("/"));
        using var admin = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri(sidecar.AdminUrl, "/metrics"))).StatusCode);
    }

    [Fact]
    public async Task Metrics_RateLimitedRequests_ScrapeCountsEvery429TheClientGot()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            endpoints:
              metrics-limited:
            {{TestSidecar.Endpoint("a", app)}}
            routes:
              - name: limited-route
                match: { hosts: [metrics-limited] }
                service: metrics-limited
                rateLimit: { kind: fixedWindow, limit: 3, window: 10m }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "metrics-limited");

        var rejected = 0;
        for (var i = 0; i < 10; i++)
        {
            using var response = await client.GetAsync("/");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                rejected++;
            else
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var scrape = await Scrape.GetAsync(sidecar.AdminUrl);
        Assert.InRange(rejected, 1, 10);
        var samples = scrape.Find("mesh_sidecar_ratelimit_rejected_total", ("route", "limited-route")).ToList();
        var sample = Assert.Single(samples);
        Assert.Equal(rejected, sample.Value);
        Assert.Equal("outbound", sample.Label("direction"));
        Assert.Equal("limit", sample.Label("reason"));
        Assert.Equal(1, scrape.Find("mesh_sidecar_ratelimit_share").Single().Value);
        // The 429s are requests the caller saw: in the request metrics too, under their route.
        Assert.Equal(rejected, scrape.Sum("http_client_request_duration_seconds_count", ("route", "limited-route"), ("status_class", "4xx")));
        Assert.Equal(10 - rejected, scrape.Sum("http_client_request_duration_seconds_count", ("route", "limited-route"), ("status_class", "2xx")));
    }

    [Fact]
    public async Task Metrics_TwoSidecarsInOneProcess_EachScrapeShowsOnlyItsOwnRejections()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var yaml = $$"""
            endpoints:
              metrics-apart:
            {{TestSidecar.Endpoint("a", app)}}
            routes:
              - name: apart-route
                match: { hosts: [metrics-apart] }
                service: metrics-apart
                rateLimit: { kind: fixedWindow, limit: 1, window: 10m }
            """;
        await using var limited = await TestSidecar.StartAsync(TestSidecar.Config(yaml));
        await using var other = await TestSidecar.StartAsync(TestSidecar.Config(yaml));
        using var client = TestSidecar.Client(limited, "metrics-apart");
        using var otherClient = TestSidecar.Client(other, "metrics-apart");

        var rejected = 0;
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.GetAsync("/");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                rejected++;
        }
        // The other sidecar serves, so its own rate-limit meter exists, with nothing rejected.
        Assert.Equal(HttpStatusCode.OK, (await otherClient.GetAsync("/")).StatusCode);

        var own = await Scrape.GetAsync(limited.AdminUrl);
        var others = await Scrape.GetAsync(other.AdminUrl);
        Assert.InRange(rejected, 1, 4);
        Assert.Equal(rejected, own.Sum("mesh_sidecar_ratelimit_rejected_total", ("route", "apart-route")));
        Assert.Empty(others.Find("mesh_sidecar_ratelimit_rejected_total", ("route", "apart-route")));
        Assert.Equal(1, others.Sum("http_client_request_duration_seconds_count", ("route", "apart-route")));
    }

    [Fact]
    public async Task Metrics_CertificateExpiry_IsReadFromTheDelegate()
    {
        var config = TestSidecar.Config("");
        await using var sidecar = await TestSidecar.StartAsync(config);
        sidecar.Telemetry!.CertificateNotAfter = () => DateTimeOffset.UtcNow.AddHours(1);

        var scrape = await Scrape.GetAsync(sidecar.AdminUrl);

        var seconds = scrape.Find("mesh_sidecar_certificate_expiry_seconds").Single().Value;
        Assert.InRange(seconds, 3500, 3600);
    }

    [Fact]
    public async Task Metrics_ShareBelowOneWithoutAMeshWideLimit_ReportsShareOne()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            rateLimits:
              inbound:
                - { name: local-only, requestsPerSecond: 100 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { RateLimitShare = new MeshShare(0.5) });

        var scrape = await Scrape.GetAsync(sidecar.AdminUrl);

        Assert.Equal(1, scrape.Find("mesh_sidecar_ratelimit_share").Single().Value);
    }

    [Fact]
    public async Task Metrics_MeshWideLimit_ReportsTheShareInForceAndFollowsItsChanges()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var config = TestSidecar.Config($$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            rateLimits:
              inbound:
                - { name: mesh-total, requestsPerSecond: 100, meshWide: true }
            """);
        var share = new MeshShare(0.5);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { RateLimitShare = share });

        // One scrape only: the exporter caches a scrape's answer for a moment.
        share.Set(0.25);

        Assert.Equal(0.25, (await Scrape.GetAsync(sidecar.AdminUrl)).Find("mesh_sidecar_ratelimit_share").Single().Value);
    }
}
