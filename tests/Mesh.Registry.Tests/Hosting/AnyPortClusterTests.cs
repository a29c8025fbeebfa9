using System.Net;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Hosting;

/// <summary>
/// A cluster on one host with no port picked in advance: every listener is bound on port 0 first,
/// the members are named by the addresses the sockets got, and those very sockets serve.
/// </summary>
public sealed class AnyPortClusterTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
    private readonly (BoundListener Peer, BoundListener Client)[] _listeners =
        Enumerable.Range(0, 3).Select(_ => (BoundListener.Loopback(), BoundListener.Loopback())).ToArray();
    private readonly List<RegistryNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Cluster_EveryListenerBoundOnPortZero_ElectsALeaderAndServesOnTheSocketsBoundFirst()
    {
        var inodesBefore = _listeners.SelectMany(l => new[] { l.Peer.EndPoint, l.Client.EndPoint }).ToDictionary(e => e, ListeningSockets.InodeOf);
        Assert.All(inodesBefore, p => Assert.NotNull(p.Value));
        var members = _listeners.Select((l, i) => new ClusterMember(i + 1, l.Peer.EndPoint, null)).ToArray();

        await Task.WhenAll(Enumerable.Range(1, 3).Select(async id =>
        {
            var node = new RegistryNode(new RegistryNodeOptions
            {
                Id = id,
                Members = members,
                DataDirectory = Path.Combine(_root, $"n{id}"),
                ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                PeerListener = _listeners[id - 1].Peer,
                ClientListener = _listeners[id - 1].Client,
                LoggerFactory = NullLoggerFactory.Instance,
            });
            lock (_nodes)
                _nodes.Add(node);
            await node.StartAsync();
        }));

        var leader = await WaitForLeaderAsync();
        // Each node serves clients where its listener was bound, on the socket bound before it started.
        foreach (var node in _nodes)
            Assert.Equal(_listeners[node.Id - 1].Client.EndPoint.Port, node.ClientUrl.Port);
        foreach (var (endPoint, inode) in inodesBefore)
            Assert.Equal(inode, ListeningSockets.InodeOf(endPoint));

        // A follower forwards to the leader by the client address the leader published.
        var follower = _nodes.First(n => n != leader);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var created = await http.PostAsync(new Uri(follower.ClientUrl, "/v1/nodes/any-port?parents=true"), new StringContent("v1"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("v1", await http.GetStringAsync(new Uri(leader.ClientUrl, "/v1/nodes/any-port?raw=true")));
    }

    [Fact]
    public async Task Node_RestartedWithTheListenerItWasHanded_BindsTheSameAddressAgain()
    {
        var listeners = _listeners[0];
        RegistryNodeOptions Options() => new()
        {
            Id = 1,
            DataDirectory = Path.Combine(_root, "single"),
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            PeerListener = listeners.Peer,
            ClientListener = listeners.Client,
            LoggerFactory = NullLoggerFactory.Instance,
        };
        await using (var first = new RegistryNode(Options()))
        {
            await first.StartAsync();
            Assert.Equal(listeners.Client.EndPoint.Port, first.ClientUrl.Port);
        }
        Assert.Null(ListeningSockets.InodeOf(listeners.Client.EndPoint));

        await using var second = new RegistryNode(Options());
        await second.StartAsync();
        Assert.Equal(listeners.Client.EndPoint.Port, second.ClientUrl.Port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(second.ClientUrl, "/readyz"))).StatusCode);
    }

    private async Task<RegistryNode> WaitForLeaderAsync()
    {
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while (true)
        {
            var leaders = _nodes.Where(n => n.IsLeader).ToArray();
            if (leaders.Length == 1 && _nodes.All(n => n.Consensus.LeaderId == leaders[0].Id))
                return leaders[0];
            await Task.Delay(20, timeout.Token);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        foreach (var (peer, client) in _listeners)
        {
            peer.Dispose();
            client.Dispose();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
