// A real `mesh demo` process for the dashboard's browser and Prometheus tests: started once for
// the collection, found by the dashboard address it prints, bounded by its own --duration and
// stopped (SIGTERM, then kill) when the tests are done.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Testing;

namespace Mesh.EndToEnd.Tests.Dashboard;

public sealed class RunningDemo : IAsyncLifetime
{
    private static readonly Regex DashboardLine = new(@"^dashboard: (\S+)");
    private MeshProcess? _process;

    public Uri Dashboard { get; private set; } = null!;

    public string Output => _process?.Output ?? "";

    public async Task InitializeAsync()
    {
        _process = MeshProcess.Start("demo", "--plain", "--duration", "300s");
        var line = await _process.WaitForMatchAsync(DashboardLine, TimeSpan.FromSeconds(120));
        Dashboard = new Uri(line.Groups[1].Value);
    }

    /// <summary>The dashboard's JSON once it has a window in which frontend → catalog → inventory carried traffic.</summary>
    public async Task<JsonElement> SnapshotWithTrafficAsync(TimeSpan deadline)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < deadline)
        {
            try
            {
                last = await http.GetFromJsonAsync<JsonElement>(new Uri(Dashboard, "/api/snapshot"));
                var edges = last.GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("from").GetString() + "->" + e.GetProperty("to").GetString()).ToHashSet();
                if (edges.Contains("frontend->catalog") && edges.Contains("catalog->inventory"))
                    return last;
            }
            catch (HttpRequestException)
            {
                // 503 until the first look is done
            }
            await Task.Delay(500);
        }
        throw new InvalidOperationException($"no window with frontend -> catalog -> inventory traffic within {deadline.TotalSeconds:0} s; last: {last}\n{Output}");
    }

    public async Task DisposeAsync()
    {
        if (_process is null)
            return;
        // SIGTERM first: the demo stops everything and deletes its data.
        await _process.StopAsync(TimeSpan.FromSeconds(30));
        await _process.DisposeAsync();
    }

    /// <summary>The repository's root (where the docs, the Grafana dashboard and artifacts/ are).</summary>
    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Mesh.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class RunningDemoCollection : ICollectionFixture<RunningDemo>
{
    public const string Name = "running demo";
}
