using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Mesh.EndToEnd.Tests.Demo;

/// <summary><c>mesh demo</c> as a user runs it: a real process, whole mesh inside, judged by its summary.</summary>
public sealed partial class DemoCommandTests
{
    [Fact]
    public async Task Demo_ForFifteenSeconds_SendsTrafficThroughEveryHop_WithTheCanarySplit_AndNoFrontendErrors()
    {
        var (exitCode, output) = await RunMeshAsync(TimeSpan.FromSeconds(120), "demo", "--duration", "15s", "--plain");

        Assert.True(exitCode == 0, output);
        Assert.Contains("result: OK", output);
        Assert.Contains("over mTLS (TLS 1.3)", output);
        foreach (var hop in new[] { "driver", "frontend", "catalog v1", "catalog v2", "inventory" })
        {
            var row = Regex.Match(output, $@"(?m)^\s+{hop}\s+(\d+)\s+(\d+)\s+(\d+)");
            Assert.True(row.Success, $"no summary row for {hop}:\n{output}");
            Assert.True(long.Parse(row.Groups[2].Value) > 0, $"{hop} served nothing:\n{output}");
        }

        var frontend = Regex.Match(output, @"(?m)^\s+driver\s+(\d+)\s+(\d+)\s+(\d+)");
        Assert.Equal("0", frontend.Groups[3].Value);
        // The intruder's calls to catalog are all refused by catalog's policy; the frontend's never.
        var intruder = SummaryRow(output, "intruder");
        Assert.True(intruder.Denied > 0, $"no intruder request was denied:\n{output}");
        Assert.True(intruder.Ok == 0, $"an intruder request got through:\n{output}");
        Assert.True(SummaryRow(output, "frontend").Denied == 0, $"the frontend was denied:\n{output}");
        var split = SplitLine().Match(output);
        Assert.True(split.Success, output);
        var v2 = double.Parse(split.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(v2, 4.0, 18.0); // 10% asked; ~750 requests put 4..18% well outside chance
    }

    [Fact]
    public async Task Demo_WithChaos_KillsTheLeaderAndCrashesACatalogInstance_WhileEveryHopKeepsServing()
    {
        // Chaos strikes at a third (leader) and two thirds (catalog) of the run; 27 s leaves a
        // whole 5 s progress window after the crash.
        var (exitCode, output) = await RunMeshAsync(TimeSpan.FromSeconds(150), "demo", "--duration", "27s", "--chaos", "--plain");

        Assert.True(exitCode == 0, output);
        Assert.Contains("result: OK", output);
        var leaderKill = Regex.Match(output, @"event: chaos: killed registry leader \(node (\d)\)");
        Assert.True(leaderKill.Success, $"no leader kill:\n{output}");
        const string crash = "event: chaos: crashed catalog v1 #2 (app and sidecar, not deregistered)";
        Assert.Contains(crash, output);
        Assert.Contains("event: chaos: catalog v1 #2 left the registry when its session expired", output);

        // The last progress line comes wholly after the crash: every hop still served, under a new leader.
        var last = Regex.Matches(output[output.IndexOf(crash, StringComparison.Ordinal)..], @"(?m)^\[\d\d:\d\d\] .*$").LastOrDefault();
        Assert.True(last is not null, $"no progress line after the crash:\n{output}");
        foreach (var hop in new[] { "driver", "frontend", "catalog v1", "catalog v2", "inventory" })
        {
            var rps = Regex.Match(last.Value, $@"(?:^\[\d\d:\d\d\]|\|) {hop} (\d+) rps");
            Assert.True(rps.Success && int.Parse(rps.Groups[1].Value) > 0, $"{hop} served nothing after the crash: {last.Value}\n{output}");
        }

        var leader = Regex.Match(last.Value, @"\| leader (\d)$");
        Assert.True(leader.Success && leader.Groups[1].Value != leaderKill.Groups[1].Value, $"no new leader: {last.Value}");

        foreach (var hop in new[] { "driver", "frontend" })
        {
            var row = SummaryRow(output, hop);
            Assert.True(row.Ok > 0 && row.Failed == 0 && row.RateLimited == 0 && row.Denied == 0, $"{hop} saw failures:\n{output}");
        }
    }

    [Fact]
    public async Task Demo_WithABadDuration_ExplainsAndFails()
    {
        var (exitCode, output) = await RunMeshAsync(TimeSpan.FromSeconds(30), "demo", "--duration", "soon");

        Assert.Equal(2, exitCode);
        Assert.Contains("--duration: 'soon' is not a duration", output);
    }

    [Fact]
    public async Task Demo_OnSigterm_StopsEverything_AndLeavesNoPortBehind()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mesh.dll"));
        start.ArgumentList.Add("demo");
        start.ArgumentList.Add("--plain");
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var trafficStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
            if (e.Data?.StartsWith("traffic:", StringComparison.Ordinal) == true)
                trafficStarted.TrySetResult();
        };
        process.BeginOutputReadLine();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        try
        {
            await trafficStarted.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            lock (output)
                Assert.Fail($"the demo sent no traffic within 90 s; it printed:\n{output}");
        }
        await Task.Delay(2000);

        Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM; Ctrl+C (SIGINT) takes the same path, but is ignored in background jobs
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        string text;
        lock (output)
            text = output.ToString();
        Assert.True(process.ExitCode == 0, text);
        var ports = PortPattern().Matches(text).Select(m => int.Parse(m.Groups[1].Value)).Distinct().ToList();
        Assert.NotEmpty(ports);
        foreach (var port in ports)
        {
            Assert.False(ListeningSockets.IsListening(port), $"port {port} still listens after the demo exited");
        }
    }

    private static (long Ok, long Failed, long RateLimited, long Denied) SummaryRow(string output, string hop)
    {
        var row = Regex.Match(output, $@"(?m)^\s+{hop}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s");
        Assert.True(row.Success, $"no summary row for {hop}:\n{output}");
        return (long.Parse(row.Groups[2].Value), long.Parse(row.Groups[3].Value), long.Parse(row.Groups[4].Value), long.Parse(row.Groups[5].Value));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex PortPattern();

    [GeneratedRegex(@"catalog split observed: v1 ([\d.]+)% / v2 ([\d.]+)%")]
    private static partial Regex SplitLine();

    private static async Task<(int ExitCode, string Output)> RunMeshAsync(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mesh.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
