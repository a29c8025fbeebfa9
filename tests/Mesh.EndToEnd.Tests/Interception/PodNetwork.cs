using System.Diagnostics;
using System.Globalization;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// Two "pods" on one machine: a client and a server network namespace joined by one veth pair
/// (client 10.77.N.1, server 10.77.N.2; N differs per test process), so nothing changes in the
/// root namespace and every address belongs to the test. Needs root, <c>ip</c>, <c>iptables</c>,
/// <c>setpriv</c> and <c>curl</c>; <see cref="Unavailable"/> tells why not. The same approach as the
/// reliability tests' NetworkLab, without its router: here nothing is partitioned.
/// </summary>
internal sealed class PodNetwork : IDisposable
{
    private const string Prefix = "mint";
    private static int _created;
    private readonly List<string> _namespaces = [];

    private PodNetwork()
    {
        var pid = Environment.ProcessId;
        var instance = Interlocked.Increment(ref _created);
        var tag = $"{Prefix}{pid}x{instance}";
        Client = tag + "c";
        Server = tag + "s";
        var subnet = 20 + ((pid + (31 * instance)) % 200);
        ClientAddress = $"10.77.{subnet.ToString(CultureInfo.InvariantCulture)}.1";
        ServerAddress = $"10.77.{subnet.ToString(CultureInfo.InvariantCulture)}.2";
    }

    public string Client { get; }

    public string Server { get; }

    public string ClientAddress { get; }

    public string ServerAddress { get; }

    /// <summary>Null when namespaces can be built here, else why not (for the skip message).</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces and iptables need Linux";
        if (!Environment.IsPrivilegedProcess)
            return "creating network namespaces and installing iptables rules needs root";
        foreach (var tool in new[] { "ip", "iptables", "iptables-save", "setpriv", "curl", "python3" })
        {
            if (Run(["sh", "-c", $"command -v {tool}"]).ExitCode != 0)
                return $"'{tool}' is not installed (scripts/install-test-deps.sh installs it)";
        }
        return null;
    }

    public static PodNetwork Create()
    {
        RemoveLeftovers();
        var network = new PodNetwork();
        try
        {
            network.Build();
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return network;
    }

    private void Build()
    {
        foreach (var ns in new[] { Client, Server })
        {
            Must("ip", "netns", "add", ns);
            _namespaces.Add(ns);
            Must("ip", "-n", ns, "link", "set", "lo", "up");
        }
        // Both ends are created inside the namespaces: the root namespace never sees them.
        Must("ip", "link", "add", "eth0", "netns", Client, "type", "veth", "peer", "name", "eth0", "netns", Server);
        Must("ip", "-n", Client, "addr", "add", ClientAddress + "/24", "dev", "eth0");
        Must("ip", "-n", Server, "addr", "add", ServerAddress + "/24", "dev", "eth0");
        Must("ip", "-n", Client, "link", "set", "eth0", "up");
        Must("ip", "-n", Server, "link", "set", "eth0", "up");
    }

    /// <summary>Runs a command in <paramref name="ns"/>, as <paramref name="uid"/> when given.</summary>
    public static (int ExitCode, string Output) Exec(string ns, int? uid, params string[] command) => Run(InNamespace(ns, uid, command));

    /// <summary>The argv that runs <paramref name="command"/> in <paramref name="ns"/>: ip netns exec, then setpriv for another user.</summary>
    public static string[] InNamespace(string ns, int? uid, string[] command) => uid is { } id
        ? ["ip", "netns", "exec", ns, "setpriv", $"--reuid={id}", $"--regid={id}", "--clear-groups", .. command]
        : ["ip", "netns", "exec", ns, .. command];

    /// <summary>The namespace's nat table as iptables-save prints it, without comment lines (a timestamp) and packet counters.</summary>
    public static string NatTable(string ns) => string.Join('\n', Exec(ns, null, "iptables-save", "-t", "nat").Output
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(line => !line.StartsWith('#'))
        .Select(line => System.Text.RegularExpressions.Regex.Replace(line, @" \[\d+:\d+\]$", "")));

    public void Dispose()
    {
        // Deleting a namespace deletes its veth end, and with it the peer. Processes still in it
        // are killed first, or the namespace lingers until they exit.
        foreach (var ns in _namespaces)
        {
            foreach (var pid in Run(["ip", "netns", "pids", ns]).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                Run(["kill", "-9", pid]);
        }
        foreach (var ns in _namespaces)
            Run(["ip", "netns", "del", ns]);
        _namespaces.Clear();
    }

    /// <summary>Deletes the namespaces of earlier runs whose test process is gone (a crashed run cannot clean up).</summary>
    private static void RemoveLeftovers()
    {
        foreach (var line in Run(["ip", "netns", "list"]).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
                continue;
            var digits = new string([.. name.Skip(Prefix.Length).TakeWhile(char.IsAsciiDigit)]);
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                Run(["ip", "netns", "del", name]);
        }
    }

    private static void Must(params string[] command)
    {
        var (code, output) = Run(command);
        if (code != 0)
            throw new InvalidOperationException($"'{string.Join(' ', command)}' failed ({code}): {output.Trim()}");
    }

    private static (int ExitCode, string Output) Run(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"timed out: {string.Join(' ', command)}");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
