// What `mesh top` shows: per destination service, the request rate, success rate and latency
// quantiles between two scrapes of the sidecars' /metrics (outbound view: what callers saw),
// summed over every sidecar and label set.
using System.Globalization;
using System.Text;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Dashboard.Metrics;

internal sealed record ServiceRow(string Service, double Rps, double? SuccessRate, double? P50, double? P99);

internal static class TopTable
{
    public const string Count = "http_client_request_duration_seconds_count";
    public const string Bucket = "http_client_request_duration_seconds_bucket";

    public static List<ServiceRow> Compute(IReadOnlyList<PrometheusSample> before, IReadOnlyList<PrometheusSample> after, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        var rows = new List<ServiceRow>();
        var services = after.Where(s => s.Name == Count).Select(s => s.Label("destination_service")).Distinct().Order(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var total = Delta(before, after, Count, s => s.Label("destination_service") == service);
            var failed = Delta(before, after, Count, s => s.Label("destination_service") == service && s.Label("status_class") == "5xx");
            var buckets = after.Where(s => s.Name == Bucket && s.Label("destination_service") == service)
                .Select(s => s.Label("le")).Distinct()
                .Select(le => (Bound: ParseBound(le), Count: Delta(before, after, Bucket, s => s.Label("destination_service") == service && s.Label("le") == le)))
                .OrderBy(b => b.Bound)
                .ToList();
            rows.Add(new ServiceRow(
                service,
                total / seconds,
                total > 0 ? (total - failed) / total : null,
                Quantile(buckets, 0.5),
                Quantile(buckets, 0.99)));
        }
        return rows;
    }

    /// <summary>histogram_quantile over cumulative buckets: linear inside the bucket that holds the rank.</summary>
    public static double? Quantile(IReadOnlyList<(double Bound, double Count)> buckets, double q)
    {
        if (buckets.Count == 0 || buckets[^1].Count <= 0)
            return null;
        var rank = q * buckets[^1].Count;
        double lowerBound = 0, lowerCount = 0;
        foreach (var (bound, count) in buckets)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(bound))
                    return lowerBound;
                return count == lowerCount ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount) / (count - lowerCount));
            }
            lowerBound = bound;
            lowerCount = count;
        }
        return lowerBound;
    }

    public static string Format(IReadOnlyList<ServiceRow> rows, IReadOnlyList<string> unreachable)
    {
        var text = new StringBuilder();
        var width = Math.Max(7, rows.Count == 0 ? 0 : rows.Max(r => r.Service.Length));
        text.Append(CultureInfo.InvariantCulture, $"{"SERVICE".PadRight(width)}  {"RPS",9}  {"SUCCESS",8}  {"P50 ms",9}  {"P99 ms",9}\n");
        foreach (var row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{row.Service.PadRight(width)}  {row.Rps,9:F1}  {Percent(row.SuccessRate),8}  {Millis(row.P50),9}  {Millis(row.P99),9}\n");
        }
        if (rows.Count == 0)
            text.Append("(no outbound requests seen yet)\n");
        foreach (var url in unreachable)
            text.Append(CultureInfo.InvariantCulture, $"unreachable: {url}\n");
        return text.ToString();
    }

    private static string Percent(double? rate) => rate is { } r ? (r * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Millis(double? seconds) => seconds is { } s ? (s * 1000).ToString("F2", CultureInfo.InvariantCulture) : "-";

    internal static double ParseBound(string le) =>
        le == "+Inf" ? double.PositiveInfinity : double.Parse(le, NumberStyles.Float, CultureInfo.InvariantCulture);

    // Counters only grow; a sidecar restarted between scrapes counts from zero again.
    internal static double Delta(IReadOnlyList<PrometheusSample> before, IReadOnlyList<PrometheusSample> after, string name, Func<PrometheusSample, bool> match)
    {
        var previous = before.Where(s => s.Name == name && match(s)).ToDictionary(Key, s => s.Value);
        var delta = 0.0;
        foreach (var sample in after.Where(s => s.Name == name && match(s)))
        {
            var old = previous.GetValueOrDefault(Key(sample));
            delta += sample.Value >= old ? sample.Value - old : sample.Value;
        }
        return delta;
    }

    private static string Key(PrometheusSample sample) =>
        string.Join(',', sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
