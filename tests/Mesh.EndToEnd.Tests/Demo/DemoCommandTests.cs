using System.Text.RegularExpressions;

namespace Mesh.EndToEnd.Tests.Demo;

/// <summary><c>mesh demo</c> as a user runs it: a real process, whole mesh inside, judged by its summary.</summary>
public sealed partial class DemoCommandTests
{
    [Fact]
    public async Task Demo_ForFifteenSeconds_SendsTrafficThroughEveryHop_WithTheCanarySplit_AndNoFrontendErrors()
    {
        var (exitCode, output) = await MeshProcess.RunAsync(MeshProcess.Mesh, ["demo", "--duration", "15s", "--plain"], timeout: TimeSpan.FromSeconds(120));

        Assert.True(exitCode == 0, output);
        Assert.Contains("result: OK", output);
        Assert.Contains("over mTLS (TLS 1.3)", output);
        // Every registry node's ZooKeeper port, for zkCli -server.
        Assert.Matches(@"(?m)^zookeeper: 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ ", output);
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
        var (exitCode, output) = await MeshProcess.RunAsync(MeshProcess.Mesh, ["demo", "--duration", "27s", "--chaos", "--plain"], timeout: TimeSpan.FromSeconds(150));

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
        var (exitCode, output) = await MeshProcess.RunAsync(MeshProcess.Mesh, ["demo", "--duration", "soon"], timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains("--duration: 'soon' is not a duration", output);
    }

    [Fact]
    public async Task Demo_OnSigterm_StopsEverything_AndLeavesNoPortBehind()
    {
        await using var process = MeshProcess.Start("demo", "--plain");
        await process.WaitForLineAsync(line => line.StartsWith("traffic:", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        await Task.Delay(2000);

        Assert.True(process.Signal(MeshProcess.Sigterm)); // Ctrl+C (SIGINT) takes the same path, but is ignored in background jobs
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var text = process.Output;
        Assert.True(exitCode == 0, text);
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

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex PortPattern();

    [GeneratedRegex(@"catalog split observed: v1 ([\d.]+)% / v2 ([\d.]+)%")]
    private static partial Regex SplitLine();
}
