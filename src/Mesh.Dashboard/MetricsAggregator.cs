// The dashboard's numbers from two scrapes of every sidecar's /metrics, a known time apart: per
// service (inbound: what its sidecars served; outbound: what its callers saw), per route and per
// caller → destination edge, the request rate, success rate (non-5xx) and p50/p99 interpolated
// from the histogram buckets the way `histogram_quantile` does; and the rate-limited and denied
// counts. Pure: samples in, numbers out. Each sample carries the sidecar it came from
// (SidecarLabel) and that sidecar's service (ServiceLabel), so equal label sets of two sidecars
// stay apart and a sidecar's own counters can be put under its service.
using Mesh.Dashboard.Metrics;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Dashboard;

/// <summary>Golden signals of one window: <see cref="Requests"/> in it, per second, the non-5xx share, the 4xx share (refused: denied, rate-limited, not found), and latency quantiles in seconds (null without requests).</summary>
internal sealed record Signals(double Requests, double Rps, double? SuccessRate, double? ClientErrorRate, double? P50, double? P99);

internal sealed record MeshEdge(string From, string To, Signals Signals);

/// <summary>Requests one sidecar's limit refused: <see cref="Total"/> since the sidecar started, <see cref="Rps"/> in the window.</summary>
internal sealed record RateLimitedCount(string Service, string Direction, string Limit, string Reason, double Total, double Rps);

/// <summary>Inbound requests a service's authorization policy denied (403), by rule.</summary>
internal sealed record DeniedCount(string Service, string Rule, double Total, double Rps);

internal sealed record MeshMetrics(
    IReadOnlyDictionary<string, Signals> Inbound,
    IReadOnlyDictionary<string, Signals> Outbound,
    IReadOnlyDictionary<string, Signals> Routes,
    IReadOnlyDictionary<string, IReadOnlyList<string>> RouteCallers,
    IReadOnlyList<MeshEdge> Edges,
    IReadOnlyList<RateLimitedCount> RateLimited,
    IReadOnlyList<DeniedCount> Denied);

internal static class MetricsAggregator
{
    public const string SidecarLabel = "mesh_dashboard_sidecar";
    public const string ServiceLabel = "mesh_dashboard_service";

    private const string Client = "http_client_request_duration_seconds";
    private const string Server = "http_server_request_duration_seconds";
    private const string RateLimitedMetric = "mesh_sidecar_ratelimit_rejected_total";
    private const string DeniedMetric = "mesh_sidecar_authz_denied_total";

    public static MeshMetrics Aggregate(IReadOnlyList<PrometheusSample> before, IReadOnlyList<PrometheusSample> after, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        // A sidecar first seen in this scrape has no window yet: its counters since start are not a rate.
        var known = before.Select(s => s.Label(SidecarLabel)).ToHashSet(StringComparer.Ordinal);
        var current = after.Where(s => known.Contains(s.Label(SidecarLabel))).ToList();

        var inbound = GroupSignals(before, current, seconds, Server, s => s.Label("destination_service"));
        var outbound = GroupSignals(before, current, seconds, Client, s => s.Label("destination_service"));
        var routes = GroupSignals(before, current, seconds, Client, s => s.Label("route"));
        var routeCallers = GroupSignals(before, current, seconds, Client, s => s.Label("route") + "\n" + s.Label("caller"))
            .Where(kv => kv.Value.Requests > 0)
            .GroupBy(kv => kv.Key.Split('\n')[0], kv => kv.Key.Split('\n')[1])
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Order(StringComparer.Ordinal)], StringComparer.Ordinal);
        var edges = GroupSignals(before, current, seconds, Client, s => s.Label("caller") + "\n" + s.Label("destination_service"))
            .Select(kv => new MeshEdge(kv.Key.Split('\n')[0], kv.Key.Split('\n')[1], kv.Value))
            .ToList();

        var rateLimited = after.Where(s => s.Name == RateLimitedMetric)
            .GroupBy(s => (Service: s.Label(ServiceLabel), Direction: s.Label("direction"), Limit: s.Label("route"), Reason: s.Label("reason")))
            .OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Limit, StringComparer.Ordinal).ThenBy(g => g.Key.Reason, StringComparer.Ordinal)
            .Select(g => new RateLimitedCount(g.Key.Service, g.Key.Direction, g.Key.Limit, g.Key.Reason, g.Sum(s => s.Value),
                TopTable.Delta(before, current, RateLimitedMetric, s => s.Label(ServiceLabel) == g.Key.Service && s.Label("direction") == g.Key.Direction && s.Label("route") == g.Key.Limit && s.Label("reason") == g.Key.Reason) / seconds))
            .ToList();
        var denied = after.Where(s => s.Name == DeniedMetric)
            .GroupBy(s => (Service: s.Label("service"), Rule: s.Label("rule")))
            .OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Rule, StringComparer.Ordinal)
            .Select(g => new DeniedCount(g.Key.Service, g.Key.Rule, g.Sum(s => s.Value),
                TopTable.Delta(before, current, DeniedMetric, s => s.Label("service") == g.Key.Service && s.Label("rule") == g.Key.Rule) / seconds))
            .ToList();
        return new MeshMetrics(inbound, outbound, routes, routeCallers, edges, rateLimited, denied);
    }

    /// <summary>Signals of a histogram per group key, over every series (and sidecar) whose key matches.</summary>
    private static SortedDictionary<string, Signals> GroupSignals(IReadOnlyList<PrometheusSample> before, IReadOnlyList<PrometheusSample> after, double seconds, string histogram, Func<PrometheusSample, string> key)
    {
        var count = histogram + "_count";
        var bucket = histogram + "_bucket";
        var groups = new SortedDictionary<string, Signals>(StringComparer.Ordinal);
        foreach (var group in after.Where(s => s.Name == count).Select(key).Distinct())
        {
            var total = TopTable.Delta(before, after, count, s => key(s) == group);
            var failed = TopTable.Delta(before, after, count, s => key(s) == group && s.Label("status_class") == "5xx");
            var refused = TopTable.Delta(before, after, count, s => key(s) == group && s.Label("status_class") == "4xx");
            var buckets = after.Where(s => s.Name == bucket && key(s) == group)
                .Select(s => s.Label("le")).Distinct()
                .Select(le => (Bound: TopTable.ParseBound(le), Count: TopTable.Delta(before, after, bucket, s => key(s) == group && s.Label("le") == le)))
                .OrderBy(b => b.Bound)
                .ToList();
            groups[group] = new Signals(total, total / seconds, total > 0 ? (total - failed) / total : null, total > 0 ? refused / total : null,
                TopTable.Quantile(buckets, 0.5), TopTable.Quantile(buckets, 0.99));
        }
        return groups;
    }

    /// <summary>The samples of one sidecar's scrape, tagged with the sidecar and its service.</summary>
    public static IEnumerable<PrometheusSample> Tag(IEnumerable<PrometheusSample> samples, string sidecar, string service) =>
        samples.Select(s => s with { Labels = new Dictionary<string, string>(s.Labels) { [SidecarLabel] = sidecar, [ServiceLabel] = service } });
}
