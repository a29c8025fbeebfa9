using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Mesh.Testing;

/// <summary>
/// N registry nodes in this process on loopback, each with its own data directory. Every node's
/// Raft and client listeners are bound on port 0 before any node starts, and the members are
/// named by the addresses they got; a node restarted later binds its address again.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
    private readonly Func<RegistryNodeOptions, RegistryNodeOptions> _configure;

    private readonly (BoundListener Peer, BoundListener Client)[] _listeners;

    private TestCluster(int size, Func<RegistryNodeOptions, RegistryNodeOptions>? configure)
    {
        _configure = configure ?? (o => o);
        _listeners = Enumerable.Range(0, size).Select(_ => (BoundListener.Loopback(), BoundListener.Loopback())).ToArray();
        Members = _listeners.Select((l, i) => new ClusterMember(i + 1, l.Peer.EndPoint, l.Client.EndPoint)).ToArray();
        Nodes = new RegistryNode?[size];
    }

    public IReadOnlyList<ClusterMember> Members { get; }

    public RegistryNode?[] Nodes { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static async Task<TestCluster> StartAsync(int size = 3, Func<RegistryNodeOptions, RegistryNodeOptions>? configure = null)
    {
        var cluster = new TestCluster(size, configure);
        try
        {
            await Task.WhenAll(Enumerable.Range(1, size).Select(cluster.StartNodeAsync));
            await cluster.WaitForLeaderAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public RegistryNodeOptions OptionsOf(int id) => _configure(new RegistryNodeOptions
    {
        Id = id,
        Members = Members.Count == 1 ? [] : Members,
        DataDirectory = Path.Combine(_root, $"node{id}"),
        ClientEndPoint = Members[id - 1].ClientEndPoint!,
        PeerListener = _listeners[id - 1].Peer,
        ClientListener = _listeners[id - 1].Client,
        LoggerFactory = NullLoggerFactory.Instance,
    });

    public async Task StartNodeAsync(int id)
    {
        var node = new RegistryNode(OptionsOf(id));
        using var timeout = new CancellationTokenSource(Timeout);
        await node.StartAsync(timeout.Token);
        Nodes[id - 1] = node;
    }

    public async Task StopNodeAsync(int id)
    {
        var node = Nodes[id - 1];
        Nodes[id - 1] = null;
        if (node is not null)
            await node.DisposeAsync();
    }

    public Task<RegistryNode> WaitForLeaderAsync() =>
        Eventually.ObjectAsync(() =>
        {
            var leaders = Nodes.Where(n => n is { IsLeader: true }).ToArray();
            // Wait until every live node agrees, so forwarding works right away.
            return Task.FromResult(leaders.Length == 1 && Nodes.All(n => n is null || n.Consensus.LeaderId == leaders[0]!.Id) ? leaders[0] : null);
        }, "the cluster never agreed on one leader", Timeout);

    public RegistryNode Follower() => Nodes.First(n => n is { IsLeader: false })!;

    public Uri Url(RegistryNode node, string pathAndQuery) => new(node.ClientUrl, pathAndQuery);

    public async Task WaitAppliedAsync(long index)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        foreach (var node in Nodes)
        {
            if (node is not null)
                await node.Consensus.WaitForAppliedAsync(index, timeout.Token);
        }
    }

    /// <summary>
    /// Creates a node through whichever node leads now, riding out elections: a 503 or 504 is retried on
    /// the next leader under a fresh name (<c>path-rN</c>), since a write that failed after it
    /// was proposed may still land. Returns the path created and its index.
    /// </summary>
    public async Task<(string Path, long Index)> CreateOnLeaderAsync(string path, string data)
    {
        for (var attempt = 0; ; attempt++)
        {
            var name = attempt == 0 ? path : $"{path}-r{attempt}";
            var leader = await WaitForLeaderAsync();
            using var response = await Http.PostAsync(Url(leader, $"/v1/nodes{name}?parents=true"), new StringContent(data));
            // 503: nothing was proposed; 504 OutcomeUnknown: it may land. A fresh name covers both.
            if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout && attempt < 20)
            {
                await Task.Delay(100);
                continue;
            }
            var body = await JsonAsync(response, HttpStatusCode.Created);
            return (name, body.GetProperty("index").GetInt64());
        }
    }

    /// <summary>
    /// The first answer of <paramref name="node"/> to GET /v1/ca/root that is not the 503
    /// <c>Unavailable</c> a registry gives until its leader has created the mesh CA, just after the
    /// first election. Uses <paramref name="http"/> (e.g. one with TLS) or the cluster's client.
    /// </summary>
    public static Task<HttpResponseMessage> WaitForCaRootAsync(HttpClient http, Uri node) =>
        Eventually.ObjectAsync(async () =>
        {
            var response = await http.GetAsync(new Uri(node, "/v1/ca/root"));
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable
                || !(await response.Content.ReadAsStringAsync()).Contains("\"Unavailable\"", StringComparison.Ordinal))
                return response;
            response.Dispose();
            return null;
        }, $"{node} never served the mesh CA root", Timeout);

    public async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<JsonElement> PostJsonAsync(RegistryNode node, string pathAndQuery, object body, HttpStatusCode expected) =>
        await JsonAsync(await Http.PostAsJsonAsync(Url(node, pathAndQuery), body), expected);

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Enumerable.Range(1, Nodes.Length).Select(StopNodeAsync));
        foreach (var (peer, client) in _listeners)
        {
            peer.Dispose();
            client.Dispose();
        }
        Http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
