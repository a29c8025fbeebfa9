using System.Diagnostics;

namespace Mesh.Registry.ZooKeeper.Tests.Kazoo;

/// <summary>
/// Runs a short script under Debian's /usr/bin/python3 with its python3-kazoo package, whose
/// serializer is the reference these tests compare bytes with.
/// </summary>
internal static class KazooPython
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Null when kazoo can be imported, else why not (for the skip message).</summary>
    public static string? Unavailable()
    {
        if (!File.Exists(Python))
            return $"{Python} is missing (scripts/install-test-deps.sh installs python3 and python3-kazoo)";
        var (code, _, error) = Run("import kazoo.protocol.serialization", "");
        return code == 0 ? null : $"python3-kazoo is not installed (scripts/install-test-deps.sh installs it): {error.Trim()}";
    }

    /// <summary>Runs <paramref name="script"/> with <paramref name="input"/> on stdin; bounded to 60 s.</summary>
    public static (int ExitCode, string Output, string Error) Run(string script, string input)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the kazoo script did not finish in 60 s");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
