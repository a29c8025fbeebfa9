// A real `mesh demo` process for the dashboard's browser and Prometheus tests: started once for
// the collection, found by the dashboard address it prints, bounded by its own --duration and
// stopped (SIGTERM, then kill) when the tests are done.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Mesh.EndToEnd.Tests.Dashboard;

public sealed class RunningDemo : IAsyncLifetime
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Dashboard { get; private set; } = null!;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mesh.dll"));
        foreach (var arg in new[] { "demo", "--plain", "--duration", "300s" })
            start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        var dashboard = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            lock (_output)
                _output.AppendLine(e.Data);
            if (e.Data is { } line && line.StartsWith("dashboard: ", StringComparison.Ordinal))
                dashboard.TrySetResult(new Uri(line["dashboard: ".Length..].Split(' ')[0]));
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_output)
                _output.AppendLine(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            Dashboard = await dashboard.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException("mesh demo printed no dashboard address within 120 s:\n" + Output);
        }
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
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15); // SIGTERM: the demo stops everything and deletes its data
            using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(graceful.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
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

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

[CollectionDefinition(Name)]
public sealed class RunningDemoCollection : ICollectionFixture<RunningDemo>
{
    public const string Name = "running demo";
}
