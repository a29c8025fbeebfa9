using System.Diagnostics;
using System.Text;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.EndToEnd.Tests.ZooKeeper;

/// <summary>
/// kazoo's own test suite (shipped in Debian's python3-kazoo) against three <c>mesh registry</c>
/// processes serving ZooKeeper, with only kazoo's harness adapted (tests/kazoo-suite). CI runs the
/// short subset; the whole suite is <c>tests/kazoo-suite/run_kazoo_suite.py</c> without --subset.
/// </summary>
public sealed class KazooSuiteTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    [SkippableFact]
    public async Task KazooSuite_CiSubset_PassesAgainstAThreeNodeRegistry()
    {
        RequiredTool.Check(File.Exists(Python) && (await RunAsync(["-c", "import kazoo, pytest, mock"], TimeSpan.FromSeconds(30))).Code == 0 ? null : $"{Python} with python3-kazoo, python3-pytest and python3-mock is missing (scripts/install-test-deps.sh installs them)");
        var script = Path.Combine(AppContext.BaseDirectory, "kazoo-suite", "run_kazoo_suite.py");
        var (code, text) = await RunAsync([script, "--subset", "--timeout", "400"], TimeSpan.FromMinutes(8));
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Contains(" 0 failed", text);
    }

    private static async Task<(int Code, string Output)> RunAsync(string[] arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["MESH_DLL"] = Path.Combine(AppContext.BaseDirectory, MeshProcess.Mesh);
        using var process = Process.Start(start)!;
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.Append(e.Data).Append('\n'); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (text)
                throw new TimeoutException($"the kazoo suite did not finish in {limit}; output so far:\n{text}");
        }
        lock (text)
            return (process.ExitCode, text.ToString());
    }
}
