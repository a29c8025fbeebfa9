using Mesh.Dashboard;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Cli.Tests.Dashboard;

public sealed class MetricsAggregatorTests
{
    private static List<PrometheusSample> Scrape(string sidecar, string service, string text) =>
        [.. MetricsAggregator.Tag(PrometheusText.Parse(text), sidecar, service)];

    private static string Client(string caller, string destination, string route, string status, double count, params (string Le, double Count)[] buckets)
    {
        var labels = $"caller=\"{caller}\",destination_service=\"{destination}\",route=\"{route}\",status_class=\"{status}\"";
        var lines = buckets.Select(b => $"http_client_request_duration_seconds_bucket{{{labels},le=\"{b.Le}\"}} {b.Count}");
        return string.Join('\n', lines.Append($"http_client_request_duration_seconds_count{{{labels}}} {count}")) + "\n";
    }

    [Fact]
    public void Aggregate_TwoScrapesOfTwoCallers_GivesEdgesRatesSuccessAndQuantilesPerRouteAndService()
    {
        var before = Scrape("a", "frontend", Client("frontend", "catalog", "catalog", "2xx", 100, ("0.01", 50), ("0.1", 100), ("+Inf", 100)))
            .Concat(Scrape("b", "catalog", Client("catalog", "inventory", "inventory", "2xx", 10, ("0.01", 10), ("+Inf", 10)))).ToList();
        var after = Scrape("a", "frontend", Client("frontend", "catalog", "catalog", "2xx", 190, ("0.01", 95), ("0.1", 190), ("+Inf", 190))
                + Client("frontend", "catalog", "catalog", "5xx", 10, ("0.01", 0), ("0.1", 10), ("+Inf", 10)))
            .Concat(Scrape("b", "catalog", Client("catalog", "inventory", "inventory", "2xx", 30, ("0.01", 30), ("+Inf", 30)))).ToList();

        var metrics = MetricsAggregator.Aggregate(before, after, TimeSpan.FromSeconds(2));

        Assert.Equal(["catalog->inventory", "frontend->catalog"], metrics.Edges.Select(e => $"{e.From}->{e.To}"));
        var catalog = metrics.Outbound["catalog"];
        Assert.Equal(100, catalog.Requests);
        Assert.Equal(50, catalog.Rps, 6);
        Assert.Equal(0.9, catalog.SuccessRate!.Value, 6);
        Assert.Equal(0, catalog.ClientErrorRate!.Value, 6);
        // 45 of 100 in (0, 10 ms], the rest in (10, 100 ms]: the median lies in the second bucket.
        Assert.Equal(0.01 + (0.09 * 5 / 55), catalog.P50!.Value, 6);
        Assert.Equal(0.01 + (0.09 * 54 / 55), catalog.P99!.Value, 6);
        Assert.Equal(10, metrics.Routes["inventory"].Rps, 6);
        Assert.Equal(["frontend"], metrics.RouteCallers["catalog"]);
    }

    [Fact]
    public void Aggregate_SidecarFirstSeenInTheLatestScrape_CountsNothingForIt()
    {
        var after = Scrape("new", "frontend", Client("frontend", "catalog", "catalog", "2xx", 5000, ("+Inf", 5000)));

        var metrics = MetricsAggregator.Aggregate([], after, TimeSpan.FromSeconds(2));

        Assert.Empty(metrics.Edges);
        Assert.Empty(metrics.Outbound);
    }

    [Fact]
    public void Aggregate_CounterThatWentBack_TreatsItAsARestartFromZero()
    {
        var before = Scrape("a", "frontend", Client("frontend", "catalog", "catalog", "2xx", 1000, ("+Inf", 1000)));
        var after = Scrape("a", "frontend", Client("frontend", "catalog", "catalog", "2xx", 4, ("+Inf", 4)));

        var metrics = MetricsAggregator.Aggregate(before, after, TimeSpan.FromSeconds(1));

        Assert.Equal(4, metrics.Outbound["catalog"].Rps, 6);
    }

    [Fact]
    public void Aggregate_DeniedAndRateLimitedCounters_AreTotalledPerServiceWithTheirWindowRate()
    {
        var before = Scrape("c1", "catalog", "mesh_sidecar_authz_denied_total{service=\"catalog\",rule=\"default-deny\"} 4\n")
            .Concat(Scrape("f", "frontend", "mesh_sidecar_ratelimit_rejected_total{direction=\"outbound\",route=\"catalog\",reason=\"limit\"} 1\n")).ToList();
        var after = Scrape("c1", "catalog", "mesh_sidecar_authz_denied_total{service=\"catalog\",rule=\"default-deny\"} 8\n")
            .Concat(Scrape("c2", "catalog", "mesh_sidecar_authz_denied_total{service=\"catalog\",rule=\"default-deny\"} 3\n"))
            .Concat(Scrape("f", "frontend", "mesh_sidecar_ratelimit_rejected_total{direction=\"outbound\",route=\"catalog\",reason=\"limit\"} 7\n")).ToList();

        var metrics = MetricsAggregator.Aggregate(before, after, TimeSpan.FromSeconds(2));

        var denied = Assert.Single(metrics.Denied);
        Assert.Equal(("catalog", "default-deny", 11.0), (denied.Service, denied.Rule, denied.Total));
        Assert.Equal(2, denied.Rps, 6); // c2 is new: its 3 are in the total, not in the window
        var limited = Assert.Single(metrics.RateLimited);
        Assert.Equal(("frontend", "outbound", "catalog", "limit", 7.0), (limited.Service, limited.Direction, limited.Limit, limited.Reason, limited.Total));
        Assert.Equal(3, limited.Rps, 6);
    }

    [Fact]
    public void Aggregate_OnlyClientErrors_CountAsSuccessButShowAsRefused()
    {
        var before = Scrape("i", "intruder", Client("intruder", "catalog", "catalog", "4xx", 0, ("+Inf", 0)));
        var after = Scrape("i", "intruder", Client("intruder", "catalog", "catalog", "4xx", 6, ("+Inf", 6)));

        var edge = Assert.Single(MetricsAggregator.Aggregate(before, after, TimeSpan.FromSeconds(3)).Edges);

        Assert.Equal(("intruder", "catalog", 1.0, 1.0), (edge.From, edge.To, edge.Signals.SuccessRate, edge.Signals.ClientErrorRate));
        Assert.Equal(2, edge.Signals.Rps, 6);
    }
}
