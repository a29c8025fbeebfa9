using System.Diagnostics;

namespace Mesh.Cli.Iptables;

/// <summary>
/// The thin edge that runs iptables in the current network namespace. "iptables" is whatever the
/// system ships (on Debian the nf_tables backend, iptables-nft, through alternatives).
/// </summary>
internal sealed class IptablesRunner(string program)
{
    /// <summary>Runs <paramref name="command"/>; throws <see cref="IptablesException"/> with iptables' own message on failure.</summary>
    public void Run(IptablesCommand command)
    {
        var (exitCode, output) = Execute(command.Arguments);
        if (exitCode != 0)
            throw new IptablesException($"'{program} {string.Join(' ', command.Arguments)}' failed ({exitCode}): {output.Trim()}");
    }

    /// <summary>The nat table as rule specs (<c>iptables -t nat -S</c>).</summary>
    public string NatRules()
    {
        var (exitCode, output) = Execute(["-t", "nat", "-S"]);
        return exitCode == 0 ? output : throw new IptablesException($"'{program} -t nat -S' failed ({exitCode}): {output.Trim()}");
    }

    private (int ExitCode, string Output) Execute(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -w: wait for the xtables lock instead of failing when another writer holds it (legacy backend).
        start.ArgumentList.Add("-w");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IptablesException($"cannot run '{program}': {e.Message} (install the iptables package)", e);
        }
    }
}

internal sealed class IptablesException : Exception
{
    public IptablesException(string message)
        : base(message)
    {
    }

    public IptablesException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
