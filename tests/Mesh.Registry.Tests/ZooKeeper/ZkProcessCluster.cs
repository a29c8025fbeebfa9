using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// Three <c>mesh registry</c> processes serving ZooKeeper (<c>--zk 127.0.0.1:0 --zk-open</c>), for
/// what an in-process node cannot show: a node killed with SIGKILL, whose sockets the kernel closes
/// without the node saying goodbye to its clients or its peers. Each node's Raft listener is bound
/// here at port 0 and inherited (<c>--listen-peer fd:N</c>); its ZooKeeper port is the one its
/// start-up line names.
/// </summary>
internal sealed partial class ZkProcessCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly MeshProcess[] _nodes;

    private ZkProcessCluster(string root, MeshProcess[] nodes, IPEndPoint[] zooKeeper)
    {
        _root = root;
        _nodes = nodes;
        ZooKeeper = zooKeeper;
    }

    /// <summary>Each node's ZooKeeper address, by node index (id - 1).</summary>
    public IReadOnlyList<IPEndPoint> ZooKeeper { get; }

    public static async Task<ZkProcessCluster> StartAsync()
    {
        var raft = Enumerable.Range(0, 3).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToArray();
        foreach (var socket in raft)
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen();
        }
        var peers = string.Join(',', raft.Select((r, i) => $"{i + 1}={r.LocalEndPoint}"));
        var root = Path.Combine(Path.GetTempPath(), "mesh-zk-kill-" + Guid.NewGuid().ToString("N"));
        var nodes = new MeshProcess[3];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes[i] = MeshProcess.StartInheriting(raft[i], "registry", "--id", (i + 1).ToString(CultureInfo.InvariantCulture), "--peers", peers,
                    "--listen-peer", $"fd:{raft[i].Handle}", "--data", Path.Combine(root, $"n{i + 1}"), "--client", "127.0.0.1:0",
                    "--zk", "127.0.0.1:0", "--zk-open");
                raft[i].Dispose(); // the node holds it now
            }
            var zooKeeper = new IPEndPoint[3];
            for (var i = 0; i < 3; i++)
                zooKeeper[i] = IPEndPoint.Parse((await nodes[i].WaitForMatchAsync(ZooKeeperLine(), TimeSpan.FromSeconds(60))).Groups[1].Value);
            var cluster = new ZkProcessCluster(root, nodes, zooKeeper);
            // Session passwords come from the CA material the first leader writes: until every node
            // has it, a new session cannot be opened everywhere.
            foreach (var endPoint in zooKeeper)
            {
                await Eventually.TrueAsync(async () =>
                {
                    await using var client = await ZkTestClient.ConnectAsync(endPoint);
                    var (synced, _, _) = await client.CallAsync(OpCode.Sync, new PathRequest("/"));
                    return synced.Err == 0;
                }, $"node {endPoint} opens a session", TimeSpan.FromSeconds(60));
            }
            return cluster;
        }
        catch
        {
            foreach (var node in nodes.Where(n => n is not null))
                await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>The index of the node whose <c>srvr</c> says it leads.</summary>
    public async Task<int> LeaderAsync() => await Eventually.ValueAsync(async () =>
    {
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (!_nodes[i].HasExited && (await FourLetterWordAsync(ZooKeeper[i], "srvr")).Contains("Mode: leader", StringComparison.Ordinal))
                return (int?)i;
        }
        return null;
    }, "a node leads");

    /// <summary>SIGKILL: no clean shutdown, the kernel closes the node's sockets.</summary>
    public Task KillAsync(int node) => _nodes[node].KillAsync();

    /// <summary>What node <paramref name="node"/> printed, for a failure message.</summary>
    public string Output(int node) => _nodes[node].Output;

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static async Task<string> FourLetterWordAsync(IPEndPoint endPoint, string word)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        await socket.SendAsync(Encoding.ASCII.GetBytes(word));
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync();
    }

    [GeneratedRegex(@"ZooKeeper clients on ([0-9.]+:[0-9]+)")]
    private static partial Regex ZooKeeperLine();
}
