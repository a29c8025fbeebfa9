using System.Globalization;
using Mesh.Common.Time;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Mesh.Demo;

/// <summary>
/// The demo's live view: every second, each hop's requests per second, success rate and
/// p50/p99, the observed catalog split, and rate-limited and denied counts. A live table on a
/// terminal; one plain line per update when output is redirected (CI, logs), written to
/// <c>plainOutput</c> as is (never wrapped to a console width, so each stays one line).
/// </summary>
internal sealed class DemoView(DemoMesh mesh, TrafficDriver driver, IAnsiConsole console, TextWriter? plainOutput)
{
    private readonly List<string> _events = [];

    public void Event(string text)
    {
        lock (_events)
        {
            _events.Add($"{DateTime.Now:HH:mm:ss} {text}");
            if (_events.Count > 6)
                _events.RemoveAt(0);
        }

        plainOutput?.WriteLine($"event: {text}");
    }

    public async Task RunAsync(TimeSpan elapsedBefore, Func<TimeSpan> elapsed, CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromSeconds(plainOutput is null ? 1 : 5);
        if (plainOutput is not null)
        {
            await Ticker.RunAsync(tick, _ =>
            {
                plainOutput.WriteLine(PlainLine(elapsed(), tick));
                return Task.CompletedTask;
            }, cancellationToken, waitFirst: true);
            return;
        }

        await console.Live(new Text("starting…")).AutoClear(false).StartAsync(live =>
            Ticker.RunAsync(tick, _ =>
            {
                live.UpdateTarget(Render(elapsed(), tick));
                return Task.CompletedTask;
            }, cancellationToken, waitFirst: true));
    }

    private IRenderable Render(TimeSpan elapsed, TimeSpan window)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]Mesh demo[/] — {elapsed:mm\\:ss} — traffic → frontend → catalog (v1 90% / v2 10%) → inventory; {DemoMesh.IntruderService} → catalog (denied)");
        table.AddColumns("hop", "rps", "success", "p50 ms", "p99 ms", "requests", "rate-limited", "denied");
        foreach (var stats in Hops())
        {
            var w = stats.TakeWindow(window);
            table.AddRow(stats.Name, F(w.Rps, "0"), double.IsNaN(w.SuccessPercent) ? "-" : F(w.SuccessPercent, "0.0") + "%",
                F(w.P50Ms, "0.0"), F(w.P99Ms, "0.0"), stats.Total.ToString(CultureInfo.InvariantCulture),
                stats.RateLimited.ToString(CultureInfo.InvariantCulture), stats.Denied.ToString(CultureInfo.InvariantCulture));
        }

        var split = Split();
        var rows = new List<IRenderable>
        {
            table,
            new Markup($"catalog split observed: [green]v1 {split.V1:0.0}%[/] / [yellow]v2 {split.V2:0.0}%[/]   registry leader: node {LeaderId()}"),
        };
        lock (_events)
            rows.AddRange(_events.Select(e => new Markup(Markup.Escape(e))));
        return new Rows(rows);
    }

    private string PlainLine(TimeSpan elapsed, TimeSpan window)
    {
        var parts = Hops().Select(s =>
        {
            var w = s.TakeWindow(window);
            return $"{s.Name} {F(w.Rps, "0")} rps {(double.IsNaN(w.SuccessPercent) ? "-" : F(w.SuccessPercent, "0.0") + "%")} p99 {F(w.P99Ms, "0.0")} ms";
        });
        var split = Split();
        return $"[{elapsed:mm\\:ss}] {string.Join(" | ", parts)} | split v1 {split.V1:0.0}% v2 {split.V2:0.0}% | leader {LeaderId()}";
    }

    private IEnumerable<HopStats> Hops() => [driver.Stats, .. mesh.Stats.Values];

    public (double V1, double V2) Split()
    {
        double v1 = driver.CatalogV1, v2 = driver.CatalogV2, total = v1 + v2;
        return total == 0 ? (0, 0) : (100 * v1 / total, 100 * v2 / total);
    }

    private string LeaderId() => mesh.RegistryNodes.FirstOrDefault(n => n.IsLeader)?.Id.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string F(double value, string format) =>
        double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
}
