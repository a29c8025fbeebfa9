using System.CommandLine;
using System.Diagnostics;
using Mesh.Common.Time;
using Mesh.Dashboard.Metrics;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Cli.Commands;

/// <summary>
/// <c>mesh top</c>: a live table of services (RPS, success rate, p50, p99) from the sidecars'
/// /metrics, scraped every interval. Sidecars are given by admin URL; each sidecar's samples keep
/// their own label sets, and a scrape is tagged with its URL so sums stay per sidecar.
/// </summary>
internal static class TopCommand
{
    private const string ClearScreen = "\u001b[H\u001b[2J";

    public static Command Create()
    {
        var sidecars = new Option<string>("--sidecar", "-s")
        {
            Description = "Sidecar admin URL(s), comma-separated (default: $MESH_SIDECARS or http://127.0.0.1:15000).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MESH_SIDECARS") ?? "http://127.0.0.1:15000",
        };
        var interval = DurationOption.Create("--interval", "-i", "Time between scrapes: 2s (default), 100ms .. 1h.",
            TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        var once = new Option<bool>("--once") { Description = "Print one table (two scrapes, one interval apart) and exit." };
        var command = new Command("top", "Live table of services with request rate, success rate and latency, from the sidecars' /metrics.")
        {
            sidecars, interval, once,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var urls = parseResult.GetValue(sidecars)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var period = parseResult.GetValue(interval);
            // Redrawing needs a terminal; into a file or a pipe each table is appended as plain lines.
            var redraw = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                var (before, _) = await ScrapeAllAsync(http, urls, cancellationToken);
                var started = Stopwatch.GetTimestamp();
                await Ticker.RunAsync(period, async token =>
                {
                    var (after, unreachable) = await ScrapeAllAsync(http, urls, token);
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    started = Stopwatch.GetTimestamp();
                    var table = TopTable.Format(TopTable.Compute(before, after, elapsed), unreachable);
                    if (parseResult.GetValue(once))
                    {
                        await output.WriteAsync(table);
                        return false;
                    }
                    var heading = $"mesh top  {TimeProvider.System.GetLocalNow():HH:mm:ss}  every {period.TotalSeconds:0.###}s";
                    // On a terminal: clear the screen and redraw, like top(1).
                    await output.WriteAsync(redraw
                        ? ClearScreen + heading + "  (Ctrl+C to quit)\n\n" + table
                        : heading + "\n" + table + "\n");
                    before = after;
                    return true;
                }, cancellationToken, waitFirst: true);
                return 0;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        });
        return command;
    }

    private static async Task<(List<PrometheusSample> Samples, List<string> Unreachable)> ScrapeAllAsync(HttpClient http, string[] urls, CancellationToken cancellationToken)
    {
        var samples = new List<PrometheusSample>();
        var unreachable = new List<string>();
        foreach (var url in urls)
        {
            try
            {
                var text = await http.GetStringAsync(new Uri(new Uri(url), "/metrics"), cancellationToken);
                // Tag each sample with its sidecar so identical label sets from two sidecars stay apart.
                samples.AddRange(PrometheusText.Parse(text).Select(s => s with { Labels = new Dictionary<string, string>(s.Labels) { ["mesh_top_sidecar"] = url } }));
            }
            catch (Exception e) when (e is HttpRequestException or UriFormatException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                unreachable.Add(url);
            }
        }
        return (samples, unreachable);
    }
}
