using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.EndToEnd.Tests.Dashboard;

/// <summary>
/// A real Prometheus scraping a running `mesh demo` (its sidecars' admin ports and its registry
/// nodes' client ports, found through the dashboard) and the paths a healthy demo never takes
/// (<see cref="FailurePaths"/>), and every PromQL expression we hand to users
/// (deploy/grafana's dashboard, the ```promql blocks of docs/*.md and the README) asked through
/// Prometheus's HTTP API: each must return data.
/// </summary>
[Collection(RunningDemoCollection.Name)]
public sealed partial class PrometheusScrapeTests(RunningDemo demo, ITestOutputHelper output)
{
    /// <summary>What Grafana would put in for its variables: every service, a window of many 1 s scrapes.</summary>
    private static string Resolve(string expression) =>
        expression.Replace("$__rate_interval", "30s", StringComparison.Ordinal).Replace("$service", ".*", StringComparison.Ordinal);

    [SkippableFact]
    public async Task Prometheus_ScrapingADemo_AnswersEveryDashboardAndDocumentedExpressionWithData()
    {
        RequiredTool.Check(PrometheusServer.Unavailable());

        var snapshot = await demo.SnapshotWithTrafficAsync(TimeSpan.FromSeconds(60));
        var sidecars = snapshot.GetProperty("sidecars").EnumerateArray().Select(s => new Uri(s.GetProperty("admin").GetString()!).Authority).ToList();
        var registry = snapshot.GetProperty("registry").GetProperty("status").GetProperty("members").EnumerateArray()
            .Select(m => new Uri(m.GetProperty("clientUrl").GetString()!).Authority).ToList();
        Assert.Equal(6, sidecars.Count);
        Assert.Equal(3, registry.Count);

        var expressions = Expressions().ToList();
        Assert.True(expressions.Count > 35, $"only {expressions.Count} expressions found");

        await using var failures = await FailurePaths.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusServer.Config([.. sidecars, .. failures.Sidecars], [.. registry, failures.Registry]));
        var down = await prometheus.WaitForTargetsUpAsync(TimeSpan.FromSeconds(30));
        Assert.True(down.Count == 0, "targets not up: " + string.Join("; ", down) + "\n" + prometheus.Log);

        // Rates need a few scrapes; counters that move rarely (ejections, leader changes) get a window to show.
        var clock = Stopwatch.StartNew();
        List<string> empty = [.. expressions];
        while (empty.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(2000);
            var still = new List<string>();
            foreach (var expression in empty)
            {
                if (await prometheus.QueryAsync(Resolve(expression)) == 0)
                    still.Add(expression);
            }
            empty = still;
        }

        output.WriteLine($"{expressions.Count} expressions through {prometheus.Url}, {sidecars.Count} sidecars and {registry.Count} registry nodes scraped");
        Assert.True(empty.Count == 0, "no data for:\n" + string.Join("\n", empty));
    }

    private static IEnumerable<string> Expressions()
    {
        var root = RunningDemo.RepoRoot();
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "deploy", "grafana", "mesh-dashboard.json")));
        foreach (var expression in GrafanaExpressions(dashboard.RootElement))
            yield return expression;
        foreach (var file in Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Append(Path.Combine(root, "README.md")))
        {
            foreach (Match block in PromqlBlock().Matches(File.ReadAllText(file)))
            {
                foreach (var line in block.Groups[1].Value.Split('\n').Select(l => l.Trim()))
                {
                    if (line.Length > 0 && !line.StartsWith('#'))
                        yield return line;
                }
            }
        }
    }

    private static IEnumerable<string> GrafanaExpressions(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    yield return property.Value.GetString()!;
                else
                    foreach (var expression in GrafanaExpressions(property.Value))
                        yield return expression;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
                foreach (var expression in GrafanaExpressions(item))
                    yield return expression;
        }
    }

    [GeneratedRegex(@"```promql\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex PromqlBlock();
}
