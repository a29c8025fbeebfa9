using System.Diagnostics;
using System.Text;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>Runs the outside tools the ZooKeeper tests drive (zkCli, kazoo scripts), bounded in time.</summary>
internal static class ToolProcess
{
    /// <summary>Runs a tool with stdin, bounded to 3 minutes; returns its exit code and stdout+stderr (stderr without INFO lines).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, string[] arguments, string input, bool stdoutOnly = false)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var text = new StringBuilder();
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null || e.Data.Contains(" INFO ", StringComparison.Ordinal))
                return;
            lock (text)
                (stdoutOnly ? errors : text).Append(e.Data).Append('\n');
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish in 3 minutes; output so far:\n{text}{errors}");
        }
        lock (text)
            return (process.ExitCode, process.ExitCode != 0 && stdoutOnly ? text.ToString() + errors : text.ToString());
    }
}
