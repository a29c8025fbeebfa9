using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// A network for processes on one machine in which every node has its own address: each node
/// gets its own Linux network namespace, wired by a veth pair to a router namespace; the test
/// process (in the root namespace, at <see cref="HostAddress"/>) reaches every node through one
/// more veth pair to the router. Peer traffic goes through relays the test runs at
/// <see cref="HostAddress"/> (see <see cref="ProcessCluster"/>); since every node connects from
/// its own address, a relay knows which peer is on the other end (<see cref="NodeOf"/>) and can
/// cut links pair by pair and direction by direction. Clients (the test) still reach every node
/// directly, as a client on the same side as any node would. Needs root and <c>ip</c>;
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

    /// <summary>The test process's address on the lab network, reachable from every node.</summary>
    public IPAddress HostAddress => IPAddress.Parse($"10.{_subnet}.0.1");

    /// <summary>The node a connection from <paramref name="address"/> comes from, or null.</summary>
    public int? NodeOf(IPAddress address)
    {
        var bytes = address.IsIPv4MappedToIPv6 ? address.MapToIPv4().GetAddressBytes() : address.GetAddressBytes();
        if (bytes.Length != 4 || bytes[0] != 10 || bytes[1] != _subnet || bytes[3] != 2 || bytes[2] < 1 || bytes[2] > Nodes)
            return null;
        return bytes[2] - 1;
    }

    /// <summary>Null when the lab can be built here, else why not (for a skip message).</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces need Linux";
        if (Environment.UserName != "root" && Run("id", "-u").Output.Trim() != "0")
            return "network namespaces need root";
        foreach (var tool in new[] { "ip" })
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
        // root <-> router. A host end left by an earlier lab of this process id (or one the
        // kernel has not finished tearing down) would make the add fail with "File exists".
        RemoveHostLink();
        Must("ip", "link", "add", HostLink, "type", "veth", "peer", "name", "h0", "netns", RouterNamespace);
        Must("ip", "addr", "add", $"10.{s}.0.1/24", "dev", HostLink);
        Must("ip", "link", "set", HostLink, "up");
        Must("ip", "-n", RouterNamespace, "addr", "add", $"10.{s}.0.2/24", "dev", "h0");
        Must("ip", "-n", RouterNamespace, "link", "set", "h0", "up");
        Must("ip", "route", "add", $"10.{s}.0.0/16", "via", $"10.{s}.0.2", "dev", HostLink);
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

    private string HostLink => $"{_tag}h";

    private void Remove()
    {
        // Deleting a namespace deletes the veth ends in it, their peers, and the route over them,
        // but the kernel does that later, in a work queue; the next lab of this process must not
        // find the old host end still there, so it is deleted here and waited for.
        foreach (var ns in Enumerable.Reverse(_namespaces))
            Run("ip", "netns", "del", ns);
        _namespaces.Clear();
        RemoveHostLink();
    }

    private void RemoveHostLink()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Run("ip", "link", "show", HostLink).ExitCode == 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"network lab: the link {HostLink} from an earlier lab is still there after 20 s");
            Run("ip", "link", "del", HostLink);
            Thread.Sleep(100);
        }
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
