using System.Diagnostics;
using System.Net;
using Mesh.Registry.Contracts;
using Mesh.Registry.Hosting;
using Mesh.Registry.Sessions;
using Mesh.Registry.Tests.ZooKeeper;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.Sessions;

/// <summary>
/// Keep-alives on a real 3-node cluster (HTTP API and ZooKeeper port on every node): each node
/// renews the sessions it serves in one command per interval, so the log grows by a few entries
/// per interval whatever the number of sessions, and a session that stops renewing still expires
/// with its ephemerals.
/// </summary>
public sealed class KeepAliveBatchingTests(ITestOutputHelper output)
{
    private static Task<TestCluster> StartClusterAsync() => ZooKeeper.ZkNodes.StartClusterAsync();

    private static async Task<long> OpenHttpSessionAsync(TestCluster cluster, RegistryNode node, long ttlMs)
    {
        // An election on a loaded machine answers 503 (nothing proposed) or 504 (a session may have
        // been opened; it expires after its TTL): a client opens another, as this one does, twice at most.
        var response = await cluster.Http.PostAsync(cluster.Url(node, "/v1/sessions"), new StringContent($$"""{"ttlMs":{{ttlMs}}}"""));
        for (var retries = 0; retries < 2 && response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout; retries++)
        {
            response.Dispose();
            await Task.Delay(500);
            response = await cluster.Http.PostAsync(cluster.Url(node, "/v1/sessions"), new StringContent($$"""{"ttlMs":{{ttlMs}}}"""));
        }
        using var answered = response;
        response.EnsureSuccessStatusCode();
        var body = System.Text.Json.JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(), RegistryJson.Default.SessionResponse)!;
        return body.Id;
    }

    private static async Task<HttpStatusCode> KeepAliveAsync(TestCluster cluster, RegistryNode node, long id)
    {
        using var response = await cluster.Http.PutAsync(cluster.Url(node, $"/v1/sessions/{id}/keepalive"), null);
        return response.StatusCode;
    }

    [Fact]
    public async Task KeepAlives_ManySessionsOverHttpAndZooKeeper_CostAFewLogEntriesPerIntervalNotOnePerRenewal()
    {
        const int HttpSessions = 60, ZkSessions = 30;
        await using var cluster = await StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var nodes = cluster.Nodes.Select(n => n!).ToArray();
        var http = new (RegistryNode Node, long Id)[HttpSessions];
        for (var i = 0; i < HttpSessions; i++)
        {
            var node = nodes[i % nodes.Length];
            http[i] = (node, await OpenHttpSessionAsync(cluster, node, 3_000));
        }
        var zk = new List<ZkTestClient>();
        try
        {
            for (var i = 0; i < ZkSessions; i++)
                zk.Add(await ZkTestClient.ConnectAsync(nodes[i % nodes.Length].ZooKeeperEndPoint!, timeoutMs: 3_000));

            // Every HTTP session renewed every 250 ms on the node it was opened on, every ZooKeeper
            // session pinged every 500 ms (its node renews it every third of its timeout) for 3 s.
            var renewals = 0;
            var failures = new List<string>();
            var window = Stopwatch.StartNew();
            var before = leader.Store.Read(s => s.AppliedIndex);
            var loops = http.Select(async s =>
            {
                while (window.Elapsed < TimeSpan.FromSeconds(3))
                {
                    var status = await KeepAliveAsync(cluster, s.Node, s.Id);
                    lock (failures)
                    {
                        if (status == HttpStatusCode.OK)
                            renewals++;
                        else
                            failures.Add($"session {s.Id} on node {s.Node.Id}: {(int)status}");
                    }
                    await Task.Delay(250);
                }
            }).Concat(zk.Select(async c =>
            {
                while (window.Elapsed < TimeSpan.FromSeconds(3))
                {
                    var (ping, _, _) = await c.CallAsync(OpCode.Ping, null);
                    Assert.Equal(0, ping.Err);
                    await Task.Delay(500);
                }
            }));
            await Task.WhenAll(loops);
            var elapsed = window.Elapsed;
            var entries = leader.Store.Read(s => s.AppliedIndex) - before;

            output.WriteLine($"{entries} log entries in {elapsed.TotalMilliseconds:0} ms for {renewals} HTTP keep-alives and {ZkSessions} ZooKeeper sessions");
            Assert.Empty(failures);
            // A node proposes at most one batch per interval (after the first renewal of a batch it
            // waits the interval), so 3 nodes write at most 3 per interval, plus the odd expiry check.
            var bound = (3 * ((long)(elapsed / KeepAliveBatcher.Interval) + 1)) + 5;
            Assert.True(entries <= bound, $"{entries} log entries for {renewals} HTTP renewals and {ZkSessions} ZooKeeper sessions in {elapsed.TotalMilliseconds:0} ms; at most {bound} expected");
            Assert.True(renewals >= HttpSessions * 3, $"only {renewals} keep-alives answered");
            Assert.True(entries < renewals / 3, $"{entries} log entries for {renewals} renewals");

            // Every session is alive on every node after more than its TTL.
            foreach (var node in nodes)
            {
                Assert.All(http, s => Assert.True(node.Store.Read(st => st.TryGetSession(s.Id, out _)), $"HTTP session {s.Id} expired on node {node.Id}"));
                Assert.All(zk, c => Assert.True(node.Store.Read(st => st.TryGetSession(c.Session.SessionId, out _)), $"ZooKeeper session {c.Session.SessionId} expired on node {node.Id}"));
            }
        }
        finally
        {
            foreach (var c in zk)
                await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Session_ThatStopsRenewing_ExpiresAfterItsTtl_WithItsEphemerals_WhileBatchedOnesLive()
    {
        await using var cluster = await StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var kept = await OpenHttpSessionAsync(cluster, follower, 2_000);
        var dropped = await OpenHttpSessionAsync(cluster, follower, 2_000);
        using (var created = await cluster.Http.PostAsync(cluster.Url(leader, $"/v1/nodes/svc/a?mode=ephemeral&session={dropped}&parents=true"), new StringContent("x")))
            created.EnsureSuccessStatusCode();

        // Both renewed through the follower's batches for a while, then only one.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await KeepAliveAsync(cluster, follower, kept));
            Assert.Equal(HttpStatusCode.OK, await KeepAliveAsync(cluster, follower, dropped));
            await Task.Delay(400);
        }
        var lastRenewal = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, await KeepAliveAsync(cluster, follower, dropped));
        var gone = TimeSpan.Zero;
        while (lastRenewal.Elapsed < TimeSpan.FromSeconds(15))
        {
            Assert.Equal(HttpStatusCode.OK, await KeepAliveAsync(cluster, follower, kept));
            if (!leader.Store.Read(s => s.TryGetSession(dropped, out _)))
            {
                gone = lastRenewal.Elapsed;
                break;
            }
            await Task.Delay(200);
        }

        Assert.NotEqual(TimeSpan.Zero, gone);
        // Its deadline is the batch's command time + TTL, and the batch was written after the renewal was sent.
        Assert.True(gone >= TimeSpan.FromMilliseconds(2_000 - 50), $"expired {gone.TotalMilliseconds:0} ms after its last renewal, before its 2 s TTL");
        await cluster.WaitAppliedAsync(leader.Store.Read(s => s.AppliedIndex));
        foreach (var node in cluster.Nodes)
        {
            Assert.False(node!.Store.Read(s => s.Exists("/svc/a").IsOk), $"node {node.Id} still has the expired session's ephemeral");
            Assert.True(node.Store.Read(s => s.TryGetSession(kept, out _)), $"node {node.Id} expired the renewed session");
        }
        Assert.Equal(HttpStatusCode.NotFound, await KeepAliveAsync(cluster, follower, dropped));
        Assert.Equal(HttpStatusCode.NotFound, await KeepAliveAsync(cluster, leader, dropped));
    }

    [Fact]
    public async Task KeepAlive_OnAFollowerRightAfterTheLeaderOpenedTheSession_IsOk_AndAnIdThatIsNoSessionIs404()
    {
        await using var cluster = await StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var id = await OpenHttpSessionAsync(cluster, leader, 5_000);

        // Asked at once on a follower, which may not have applied the opening yet: never a 404.
        Assert.Equal(HttpStatusCode.OK, await KeepAliveAsync(cluster, follower, id));
        // An id this node has long applied and that is no session is one.
        Assert.Equal(HttpStatusCode.NotFound, await KeepAliveAsync(cluster, follower, id - 1));
    }
    [Fact]
    public async Task KeepAlives_OnAFollower_WhileItsBatchIsStuckAtTheLeaderThatDied_ReachTheNewLeader_AndTheSessionLives()
    {
        // Every member's client address goes through a relay, so the test can make the leader
        // swallow a batch the follower forwards to it (a silent partition), then kill it.
        var relays = new Dictionary<int, FaultyTcpRelay>();
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { ClientEndPoint = Relay(m).Endpoint }).ToArray(),
        });
        try
        {
            var leader = await cluster.WaitForLeaderAsync();
            var follower = cluster.Follower();
            var id = await OpenHttpSessionAsync(cluster, follower, 2_000);
            var relay = relays[leader.Id];
            var connections = relay.Connections;
            relay.Mode = RelayMode.BlackHole;
            var stuck = KeepAliveAsync(cluster, follower, id);
            await Eventually.TrueAsync(() => relay.Connections > connections, "the follower never forwarded its batch to the leader");
            await cluster.StopNodeAsync(leader.Id);
            await cluster.WaitForLeaderAsync();

            // Renewed through the follower every 400 ms for three TTLs: the batch waiting on the
            // dead leader holds none of the later ones back.
            var statuses = new List<HttpStatusCode>();
            var window = Stopwatch.StartNew();
            while (window.Elapsed < TimeSpan.FromSeconds(6))
            {
                statuses.Add(await KeepAliveAsync(cluster, follower, id));
                await Task.Delay(400);
            }
            output.WriteLine($"stuck keep-alive: {await stuck}; then: {string.Join(", ", statuses)}");
            Assert.DoesNotContain(HttpStatusCode.NotFound, statuses);
            Assert.Equal(HttpStatusCode.OK, statuses[^1]);
            Assert.All(cluster.Nodes.Where(n => n is not null), n => Assert.True(n!.Store.Read(s => s.TryGetSession(id, out _)), $"node {n.Id} expired the session"));
        }
        finally
        {
            foreach (var relay in relays.Values)
                await relay.DisposeAsync();
        }

        FaultyTcpRelay Relay(ClusterMember member)
        {
            lock (relays)
            {
                if (!relays.TryGetValue(member.Id, out var relay))
                    relays[member.Id] = relay = FaultyTcpRelay.Start(member.ClientEndPoint!);
                return relay;
            }
        }
    }
}
