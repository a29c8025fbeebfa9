// Debian's prometheus, run for a test with a generated config: static targets (the sidecars'
// admin ports, the registry nodes' client ports), a 1 s scrape interval, its data in a temporary
// folder. It listens on 127.0.0.1:0 and its log says the address it bound ("Listening on"), so no
// port is picked in advance. Queries go through its HTTP API (/api/v1/query).
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mesh.EndToEnd.Tests.Dashboard;

internal sealed partial class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;
    private readonly StringBuilder _log;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private PrometheusServer(Process process, string folder, StringBuilder log, Uri url)
    {
        _process = process;
        _folder = folder;
        _log = log;
        Url = url;
    }

    public Uri Url { get; }

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static string? Unavailable() =>
        File.Exists("/usr/bin/prometheus") ? null : "'prometheus' is not installed (scripts/install-test-deps.sh installs it)";

    /// <summary>The scrape config for a mesh: one job for the sidecars' admin ports, one for the registry nodes' client ports.</summary>
    public static string Config(IEnumerable<string> sidecars, IEnumerable<string> registry) => $"""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: mesh-sidecars
            static_configs:
              - targets: [{string.Join(", ", sidecars.Select(t => $"'{t}'"))}]
          - job_name: mesh-registry
            static_configs:
              - targets: [{string.Join(", ", registry.Select(t => $"'{t}'"))}]
        """;

    public static async Task<PrometheusServer> StartAsync(string config)
    {
        var folder = Path.Combine(Path.GetTempPath(), "mesh-prometheus-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var configFile = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config);
        var start = new ProcessStartInfo("/usr/bin/prometheus") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = folder };
        foreach (var arg in new[]
        {
            $"--config.file={configFile}", $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            "--web.listen-address=127.0.0.1:0", "--storage.tsdb.retention.time=1h", "--log.level=info",
        })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var log = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is not { } line)
                return;
            lock (log)
                log.AppendLine(line);
            if (line.Contains("msg=\"Listening on\"", StringComparison.Ordinal) && ListeningAddress().Match(line) is { Success: true } m)
                listening.TrySetResult(new Uri($"http://{m.Groups[1].Value}/"));
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        Uri url;
        try
        {
            url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            lock (log)
                throw new InvalidOperationException("prometheus said no listening address within 30 s:\n" + log);
        }
        return new PrometheusServer(process, folder, log, url);
    }

    /// <summary>Waits until every target has been scraped successfully; the targets that are not, at the deadline.</summary>
    public async Task<List<string>> WaitForTargetsUpAsync(TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        List<string> down = ["(not asked yet)"];
        while (clock.Elapsed < deadline)
        {
            using var response = await _http.GetAsync(new Uri(Url, "api/v1/targets?state=active"));
            if (!response.IsSuccessStatusCode)
            {
                // 503 until its storage is open
                down = [$"prometheus not ready: {(int)response.StatusCode}"];
                await Task.Delay(500);
                continue;
            }
            var targets = await response.Content.ReadFromJsonAsync<JsonElement>();
            down = [.. targets.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Where(t => t.GetProperty("health").GetString() != "up")
                .Select(t => $"{t.GetProperty("scrapeUrl").GetString()}: {t.GetProperty("health").GetString()} {t.GetProperty("lastError").GetString()}")];
            if (down.Count == 0)
                return down;
            await Task.Delay(500);
        }
        return down;
    }

    /// <summary>An instant query: the number of series in its result (an error names the problem).</summary>
    public async Task<int> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync(new Uri(Url, "api/v1/query?query=" + Uri.EscapeDataString(promql)));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"{promql}: {body.GetProperty("error").GetString()}");
        var result = body.GetProperty("data").GetProperty("result");
        return result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 1;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"msg=""Listening on"" address=([0-9.]+:\d+)")]
    private static partial Regex ListeningAddress();
}
