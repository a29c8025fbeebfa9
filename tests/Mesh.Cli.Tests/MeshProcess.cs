using System.Diagnostics;

namespace Mesh.Cli.Tests;

/// <summary>Runs the built <c>mesh</c> binary (copied next to the tests) as a real process.</summary>
internal static class MeshProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var (exitCode, stdout, stderr) = await RunWithInputAsync(null, args);
        return (exitCode, stdout + stderr);
    }

    /// <summary>Runs <c>mesh</c> with <paramref name="input"/> on its standard input (closed after it; none if null), keeping its two outputs apart.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithInputAsync(string? input, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mesh.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
