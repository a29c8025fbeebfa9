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
        var split = SplitLine().Match(output);
        Assert.True(split.Success, output);
        var v2 = double.Parse(split.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(v2, 4.0, 18.0); // 10% asked; ~750 requests put 4..18% well outside chance
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
        await trafficStarted.Task.WaitAsync(TimeSpan.FromSeconds(90));
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
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            probe.Start(); // throws if anything still listens there
        }
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
