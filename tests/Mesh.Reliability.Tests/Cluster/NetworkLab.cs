using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// Real network partitions for processes on one machine: each node gets its own Linux network
/// namespace, wired by a veth pair to a router namespace; the test process (in the root
/// namespace) reaches every node through one more veth pair to the router. A partition is a set
/// of iptables DROP rules in the router's FORWARD chain between the two sides, so packets between
/// them are silently lost in both directions, on every connection, old and new — as on a real
/// network (no resets, TCP retransmits until it gives up). Clients (the test) still reach every
/// node, as a client on the same side as any node would. Needs root, <c>ip</c> and <c>iptables</c>;
/// <see cref="Unavailable"/> tells why not. Nothing in the root namespace changes except one veth
/// and one route, both gone when the router namespace is deleted.
/// </summary>
internal sealed class NetworkLab : IAsyncDisposable
{
    private const string Prefix = "mrel";
    private readonly List<string> _namespaces = [];
    private readonly string _tag;
    private readonly int _subnet;
    private readonly Action<string> _log;

    private NetworkLab(int nodes, Action<string> log)
    {
        _log = log;
        var pid = Environment.ProcessId;
        _tag = $"{Prefix}{pid}";
        _subnet = 100 + (pid % 100); // 10.<subnet>.0.0/16; distinct per test process
        Nodes = nodes;
    }

    public int Nodes { get; }

    public string RouterNamespace => $"{_tag}r";

    /// <summary>The namespace node <paramref name="node"/> (0-based) runs in.</summary>
    public string NamespaceOf(int node) => $"{_tag}n{node}";

    /// <summary>Node <paramref name="node"/>'s address, reachable from the test and from the other nodes.</summary>
    public IPAddress AddressOf(int node) => IPAddress.Parse($"10.{_subnet}.{node + 1}.2");

    /// <summary>Null when the lab can be built here, else why not (for a skip message).</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces need Linux";
        if (Environment.UserName != "root" && Run("id", "-u").Output.Trim() != "0")
            return "network namespaces and iptables need root";
        foreach (var tool in new[] { "ip", "iptables" })
        {
            if (Run("sh", "-c", $"command -v {tool}").ExitCode != 0)
                return $"'{tool}' is not installed (scripts/install-test-deps.sh installs it)";
        }
        return null;
    }

    public static NetworkLab Create(int nodes, Action<string> log)
    {
        RemoveLeftovers(log);
        var lab = new NetworkLab(nodes, log);
        try
        {
            lab.Build();
        }
        catch
        {
            lab.Remove();
            throw;
        }
        return lab;
    }

    private void Build()
    {
        var s = _subnet.ToString(CultureInfo.InvariantCulture);
        AddNamespace(RouterNamespace);
        Must("ip", "-n", RouterNamespace, "link", "set", "lo", "up");
        Must("ip", "netns", "exec", RouterNamespace, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        // root <-> router
        var host = $"{_tag}h";
        Must("ip", "link", "add", host, "type", "veth", "peer", "name", "h0", "netns", RouterNamespace);
        Must("ip", "addr", "add", $"10.{s}.0.1/24", "dev", host);
        Must("ip", "link", "set", host, "up");
        Must("ip", "-n", RouterNamespace, "addr", "add", $"10.{s}.0.2/24", "dev", "h0");
        Must("ip", "-n", RouterNamespace, "link", "set", "h0", "up");
        Must("ip", "route", "add", $"10.{s}.0.0/16", "via", $"10.{s}.0.2", "dev", host);
        // router <-> each node
        for (var node = 0; node < Nodes; node++)
        {
            var ns = NamespaceOf(node);
            var net = (node + 1).ToString(CultureInfo.InvariantCulture);
            AddNamespace(ns);
            Must("ip", "-n", ns, "link", "set", "lo", "up");
            Must("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", $"n{node}", "netns", RouterNamespace);
            Must("ip", "-n", ns, "addr", "add", $"10.{s}.{net}.2/24", "dev", "eth0");
            Must("ip", "-n", ns, "link", "set", "eth0", "up");
            Must("ip", "-n", ns, "route", "add", "default", "via", $"10.{s}.{net}.1");
            Must("ip", "-n", RouterNamespace, "addr", "add", $"10.{s}.{net}.1/24", "dev", $"n{node}");
            Must("ip", "-n", RouterNamespace, "link", "set", $"n{node}", "up");
        }
        _log($"network lab: router {RouterNamespace}, nodes {string.Join(", ", Enumerable.Range(0, Nodes).Select(n => $"{NamespaceOf(n)}={AddressOf(n)}"))}");
    }

    /// <summary>Cuts every link between <paramref name="side"/> and the other nodes (both directions).</summary>
    public void Partition(IReadOnlyCollection<int> side)
    {
        foreach (var a in side)
        {
            foreach (var b in Enumerable.Range(0, Nodes).Except(side))
            {
                Must("ip", "netns", "exec", RouterNamespace, "iptables", "-w", "-A", "FORWARD", "-i", $"n{a}", "-o", $"n{b}", "-j", "DROP");
                Must("ip", "netns", "exec", RouterNamespace, "iptables", "-w", "-A", "FORWARD", "-i", $"n{b}", "-o", $"n{a}", "-j", "DROP");
            }
        }
    }

    /// <summary>Removes every partition rule.</summary>
    public void HealAll() => Must("ip", "netns", "exec", RouterNamespace, "iptables", "-w", "-F", "FORWARD");

    /// <summary>The router's current FORWARD rules (for the log).</summary>
    public string Rules() => Run("ip", "netns", "exec", RouterNamespace, "iptables", "-w", "-S", "FORWARD").Output.Trim();

    public ValueTask DisposeAsync()
    {
        Remove();
        return ValueTask.CompletedTask;
    }

    private void AddNamespace(string name)
    {
        Must("ip", "netns", "add", name);
        _namespaces.Add(name);
    }

    private void Remove()
    {
        // Deleting a namespace deletes the veth ends in it, their peers, and the route over them.
        foreach (var ns in Enumerable.Reverse(_namespaces))
            Run("ip", "netns", "del", ns);
        _namespaces.Clear();
    }

    /// <summary>Deletes the namespaces of earlier runs whose test process is gone (a crashed run cannot clean up).</summary>
    private static void RemoveLeftovers(Action<string> log)
    {
        foreach (var line in Run("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
                continue;
            var digits = new string(name.Skip(Prefix.Length).TakeWhile(char.IsAsciiDigit).ToArray());
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                log($"network lab: removing leftover namespace {name}");
                Run("ip", "netns", "del", name);
            }
        }
    }

    private static void Must(params string[] command)
    {
        var (code, output) = Run(command);
        if (code != 0)
            throw new InvalidOperationException($"'{string.Join(' ', command)}' failed ({code}): {output.Trim()}");
    }

    internal static (int ExitCode, string Output) Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill();
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
