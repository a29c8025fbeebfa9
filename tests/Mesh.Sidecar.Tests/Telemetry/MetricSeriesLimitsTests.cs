using System.Net;
using System.Text;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Telemetry;

// The series limits of MetricSeriesLimits: small for fixed labels, room for a real sidecar's routes
// in the request histograms and per-route counters, and an overflow series that shows when a
// configured limit is hit.
public sealed class MetricSeriesLimitsTests
{
    private const string Overflow = "otel_metric_overflow";

    [Fact]
    public async Task Metrics_SidecarWith300Routes_ExportsEveryRouteWithoutOverflow()
    {
        const int routes = 300;
        await using var app = await FailingUnderFailAsync();
        var config = Sidecar(app, "series-many", routes, metrics: "");
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "series-many");

        for (var i = 0; i < routes; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/r{i}/ok")).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync($"/r{i}/fail")).StatusCode);
        }

        await Scrape.ShowingAsync(sidecar.AdminUrl, scrape =>
        {
            // 600 histogram series (route × status class) and 300 retry series: more than the
            // 100 an instrument with fixed labels gets, within what these instruments get.
            for (var i = 0; i < routes; i++)
            {
                Assert.Equal(1, scrape.Sum("http_client_request_duration_seconds_count", ("route", $"r{i}"), ("status_class", "2xx")));
                Assert.Equal(1, scrape.Sum("http_client_request_duration_seconds_count", ("route", $"r{i}"), ("status_class", "5xx")));
                Assert.Equal(1, scrape.Sum("mesh_sidecar_retries_total", ("route", $"r{i}"), ("destination_service", "series-many")));
            }
            Assert.DoesNotContain(scrape.Samples, s => s.Labels.ContainsKey(Overflow));
            // A view that sets only the limit keeps the instrument's own sub-millisecond buckets.
            Assert.Single(scrape.Find("http_client_request_duration_seconds_bucket", ("route", "r0"), ("status_class", "2xx"), ("le", "0.0005")));
        });
    }

    [Fact]
    public async Task Metrics_MoreSeriesThanTheConfiguredLimit_CountsTheRestInTheOverflowSeries()
    {
        const int routes = 30;
        await using var app = await FailingUnderFailAsync();
        var config = Sidecar(app, "series-capped", routes, metrics: "telemetry: { metrics: { cardinalityLimit: 20 } }");
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "series-capped");

        for (var i = 0; i < routes; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/r{i}/ok")).StatusCode);

        await Scrape.ShowingAsync(sidecar.AdminUrl, scrape =>
        {
            const string count = "http_client_request_duration_seconds_count";
            var own = scrape.Find(count, ("destination_service", "series-capped")).ToList();
            var overflow = scrape.Find(count, (Overflow, "true")).ToList();
            Assert.Equal(20, own.Count);
            Assert.All(own, s => Assert.Equal(1, s.Value));
            // Every request is still counted: the 10 routes past the limit share one series.
            Assert.Equal(10, Assert.Single(overflow).Value);
            Assert.False(overflow[0].Labels.ContainsKey("route"));
        });
    }

    /// <summary>An app that answers 503 to paths ending in /fail and 200 to the rest.</summary>
    private static Task<TestApp> FailingUnderFailAsync() => TestApp.StartAsync(context =>
    {
        context.Response.StatusCode = context.Request.Path.Value!.EndsWith("/fail", StringComparison.Ordinal) ? 503 : 200;
        return context.Response.WriteAsync("x");
    });

    /// <summary>A sidecar with routes r0..r{n-1} (path prefix /rI/) to <paramref name="service"/>, one retry on 503 each, no budget or ejection in the way.</summary>
    private static Mesh.Sidecar.Configuration.SidecarConfig Sidecar(TestApp app, string service, int routes, string metrics)
    {
        var yaml = new StringBuilder($$"""
            {{metrics}}
            defaults:
              retryBudget: { ratio: 1, minRetriesPerSecond: 100000 }
              outlierDetection: { consecutiveFailures: 0 }
            endpoints:
              {{service}}:
            {{TestSidecar.Endpoint("e1", app)}}
            routes:

            """);
        for (var i = 0; i < routes; i++)
            yaml.Append($"  - {{ name: r{i}, match: {{ pathPrefix: /r{i}/ }}, service: {service}, retries: {{ attempts: 2, retryOn: [503], baseDelay: 0ms }} }}\n");
        return TestSidecar.Config(yaml.ToString());
    }
}
