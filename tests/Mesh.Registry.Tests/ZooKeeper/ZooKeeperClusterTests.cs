using System.Diagnostics;
using System.Net;
using System.Text;
using Mesh.Registry.Hosting;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// A 3-node registry serving ZooKeeper on every node: followers forward writes, new sessions and
/// keep-alives to the leader, and a session moves between nodes. Clients: the bare test client and
/// kazoo (Debian's python3-kazoo) given all three nodes' addresses.
/// </summary>
public sealed class ZooKeeperClusterTests(ITestOutputHelper output)
{
    /// <summary>The first follower first, then the leader, then the other follower.</summary>
    private static string Hosts(TestCluster cluster, RegistryNode first) =>
        string.Join(',', new[] { first }.Concat(cluster.Nodes.Where(n => n is not null && n != first).OrderByDescending(n => n!.IsLeader)).Select(n => n!.ZooKeeperEndPoint!.ToString()));

    [Fact]
    public async Task Follower_ForwardsWritesAndNewSessions_AndItsRepliesReflectThem()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        await using var client = await ZkTestClient.ConnectAsync(follower.ZooKeeperEndPoint!);
        Assert.True(leader.Store.Read(s => s.TryGetSession(client.Session.SessionId, out _)), "the session was opened through the leader");

        var (created, body, _) = await client.CallAsync(OpCode.Create2, new CreateRequest("/via-follower", "x"u8.ToArray(), Acl.OpenUnsafe, (int)ZkCreateFlags.Ephemeral));
        Assert.Equal(0, created.Err);
        Assert.Equal(client.Session.SessionId, ZkTestClient.Parse<Create2Response>(body).Stat.EphemeralOwner);
        // The reply came once this follower applied the write: a read here sees it.
        Assert.True(follower.Store.Read(s => s.AppliedIndex) >= created.Zxid);
        var (read, data, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/via-follower", false));
        Assert.Equal((0, "x"), (read.Err, Encoding.UTF8.GetString(ZkTestClient.Parse<GetDataResponse>(data).Data!)));
        Assert.True(leader.Store.Read(s => s.Exists("/via-follower").IsOk));

        // A definite error answered by the leader comes back as that error.
        var (exists, _, _) = await client.CallAsync(OpCode.Create, new CreateRequest("/via-follower", [], Acl.OpenUnsafe, 0));
        Assert.Equal((int)ZkError.NodeExists, exists.Err);

        // sync answers once the follower has what the leader had committed.
        var (_, index) = await cluster.CreateOnLeaderAsync("/leader-made", "y");
        var (synced, _, _) = await client.CallAsync(OpCode.Sync, new PathRequest("/"));
        Assert.Equal(0, synced.Err);
        Assert.True(synced.Zxid >= index);

        // The session stays alive past its timeout on keep-alives the follower forwards.
        var expiresAfter = Stopwatch.StartNew();
        while (expiresAfter.Elapsed < TimeSpan.FromMilliseconds(client.Session.TimeOut * 1.5))
        {
            var (ping, _, _) = await client.CallAsync(OpCode.Ping, null);
            Assert.Equal(0, ping.Err);
            await Task.Delay(1_000);
        }
        Assert.True(leader.Store.Read(s => s.TryGetSession(client.Session.SessionId, out _)), "the session outlived its timeout");
    }

    [Fact]
    public async Task Follower_ForwardsTheSessionsIdentities_SoNodeAclsHoldForItsClients()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        await using var owner = await ZkTestClient.ConnectAsync(leader.ZooKeeperEndPoint!);
        await owner.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", "alice:secret"u8.ToArray()), Xids.Auth);
        Assert.Equal(0, (await owner.ReadReplyAsync())!.Value.Header.Err);
        var aliceOnly = new Acl(Acl.All, new Id("auth", ""));
        Assert.Equal(0, (await owner.CallAsync(OpCode.Create, new CreateRequest("/alice", "x"u8.ToArray(), [aliceOnly], 0))).Header.Err);
        await Eventually.TrueAsync(() => follower.Store.Read(s => s.Exists("/alice").IsOk), "the follower applied the node");

        await using var stranger = await ZkTestClient.ConnectAsync(follower.ZooKeeperEndPoint!);
        Assert.Equal((int)ZkError.NoAuth, (await stranger.CallAsync(OpCode.Create, new CreateRequest("/alice/child", [], Acl.OpenUnsafe, 0))).Header.Err);
        Assert.Equal((int)ZkError.NoAuth, (await stranger.CallAsync(OpCode.SetData, new SetDataRequest("/alice", [], -1))).Header.Err);

        await using var alice = await ZkTestClient.ConnectAsync(follower.ZooKeeperEndPoint!);
        await alice.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", "alice:secret"u8.ToArray()), Xids.Auth);
        Assert.Equal(0, (await alice.ReadReplyAsync())!.Value.Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.SetData, new SetDataRequest("/alice", "y"u8.ToArray(), 0))).Header.Err);
    }

    [Fact]
    public async Task Follower_ForwardsPipelinedWritesTogether_AppliedAndAnsweredInRequestOrder()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        await cluster.WaitForLeaderAsync();
        await ZkPipelineScript.RunAsync(cluster.Follower().ZooKeeperEndPoint!);
    }

    [Fact]
    public async Task Follower_WithNoLeaderToForwardTo_AnswersConnectionLoss_NeverSuccessOrAFailure()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        await using var client = await ZkTestClient.ConnectAsync(follower.ZooKeeperEndPoint!);
        // Without a majority no write can commit: the follower cannot know an outcome.
        foreach (var other in cluster.Nodes.Where(n => n is not null && n != follower).ToArray())
            await cluster.StopNodeAsync(other!.Id);
        var (answer, _, _) = await client.CallAsync(OpCode.Create, new CreateRequest("/no-quorum", [], Acl.OpenUnsafe, 0));
        Assert.Equal((int)ZkError.ConnectionLoss, answer.Err);
        Assert.True(await client.ClosedByServerAsync());
        Assert.False(follower.Store.Read(s => s.Exists("/no-quorum").IsOk));
        _ = leader;
    }

    [Fact]
    public async Task Session_MovesToAnotherNode_WithItsEphemerals_AndSetWatchesThereFiresTheChangeItMissed()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        await cluster.WaitForLeaderAsync();
        var followers = cluster.Nodes.Where(n => n is { IsLeader: false }).ToArray();
        var (first, second) = (followers[0]!, followers[1]!);
        var client = await ZkTestClient.ConnectAsync(first.ZooKeeperEndPoint!);
        var session = client.Session;
        await client.CallAsync(OpCode.Create, new CreateRequest("/moving", [], Acl.OpenUnsafe, (int)ZkCreateFlags.Ephemeral));
        await client.CallAsync(OpCode.Create, new CreateRequest("/watched", "1"u8.ToArray(), Acl.OpenUnsafe, 0));
        var (read, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/watched", true));
        await client.DisposeAsync();
        await cluster.StopNodeAsync(first.Id);

        // Changed while the client was between nodes.
        // Stopping a node can move the leadership under a loaded machine; the same PUT again is
        // harmless, so ask whoever leads until one is answered.
        await Eventually.TrueAsync(async () =>
        {
            using var response = await cluster.Http.PutAsync(cluster.Url(await cluster.WaitForLeaderAsync(), "/v1/nodes/watched"), new ByteArrayContent("2"u8.ToArray()));
            return response.StatusCode == HttpStatusCode.OK;
        }, "no leader took the change");
        // Another client's write reaches each node when the node applies it (ZooKeeper promises no
        // more across clients): the session moves once the node it moves to has it. A PUT answered
        // 503/504 during a leader change may have been applied too, so its repeat can make the
        // version 2.
        await Eventually.TrueAsync(() => second.Store.Read(s => s.GetNode("/watched").Stat.Version) >= 1, "the node the session moves to applied the change");

        await using var moved = await ZkTestClient.OpenAsync(second.ZooKeeperEndPoint!);
        var resumed = await moved.HandshakeAsync(new ConnectRequest(0, read.Zxid, session.TimeOut, session.SessionId, session.Passwd, false));
        Assert.Equal(session.SessionId, resumed!.Value.SessionId);
        var (set, _, fired) = await moved.CallAsync(OpCode.SetWatches, new SetWatchesBody(new SetWatchesRequest(read.Zxid, ["/watched"], [], [], [], [])));
        Assert.Equal(0, set.Err);
        Assert.Equal([new WatcherEvent((int)WatcherEventType.NodeDataChanged, (int)KeeperState.SyncConnected, "/watched")], fired);
        var (exists, _, _) = await moved.CallAsync(OpCode.Exists, new PathWatchRequest("/moving", false));
        Assert.Equal(0, exists.Err);
    }

    [Fact]
    public async Task Follower_BehindWhenTheLeaderSnapshots_GetsEntriesFromTheKeptTail_AndItsSessionAndWatchCarryOn()
    {
        await using var cluster = await ZkNodes.StartClusterAsync(o => o with { SnapshotEvery = 50, SnapshotKeep = 200, RaftLog = Mesh.Registry.Consensus.RaftLogKind.Mesh });
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        await using var client = await ZkTestClient.ConnectAsync(follower.ZooKeeperEndPoint!);
        var (created, _, _) = await client.CallAsync(OpCode.Create, new CreateRequest("/watched", "1"u8.ToArray(), Acl.OpenUnsafe, 0));
        Assert.Equal(0, created.Err);
        var (read, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/watched", true));
        Assert.Equal(0, read.Err);

        // The follower stays up and hears the leader, but takes neither entries nor a snapshot while the leader snapshots
        // and the watched node changes.
        var raft = (Mesh.Registry.Consensus.RaftConsensus)follower.Consensus;
        raft.RefuseReplication(true);
        var fired = new List<WatcherEvent>();
        for (var n = 0; n < 60; n++)
        {
            await cluster.CreateOnLeaderAsync($"/filler/k{n}", "v");
            if (n % 10 == 0)
                fired.AddRange((await client.CallAsync(OpCode.Ping, null)).Notifications);
        }
        await Eventually.TrueAsync(async () =>
        {
            using var response = await cluster.Http.PutAsync(cluster.Url(await cluster.WaitForLeaderAsync(), "/v1/nodes/watched"), new ByteArrayContent("2"u8.ToArray()));
            return response.StatusCode == HttpStatusCode.OK;
        }, "no leader took the change");
        var (_, last) = await cluster.CreateOnLeaderAsync("/filler/last", "v");
        var leaderLog = ((Mesh.Registry.Consensus.RaftConsensus)(await cluster.WaitForLeaderAsync()).Consensus).LogStart!.Value;
        Assert.True(leaderLog.SnapshotIndex > follower.Consensus.AppliedIndex,
            $"the leader's snapshot {leaderLog.SnapshotIndex} is not past the follower's applied index {follower.Consensus.AppliedIndex}");
        Assert.Empty(fired);
        raft.RefuseReplication(false);
        await cluster.WaitAppliedAsync(last);

        Assert.Equal(0, raft.SnapshotsInstalled);
        // Same connection, same session: the watch set before the follower fell behind fires.
        await Eventually.TrueAsync(async () =>
        {
            var (ping, _, events) = await client.CallAsync(OpCode.Ping, null);
            Assert.Equal(0, ping.Err);
            fired.AddRange(events);
            return fired.Count > 0;
        }, "the watch did not fire");
        Assert.Equal([new WatcherEvent((int)WatcherEventType.NodeDataChanged, (int)KeeperState.SyncConnected, "/watched")], fired);
        Assert.True(follower.Store.Read(s => s.TryGetSession(client.Session.SessionId, out _)), "the session is gone");
    }

    [SkippableFact]
    public async Task Kazoo_WithAllThreeNodes_WritesEphemeralsMultiSyncAndWatches_ThroughAFollower()
    {
        await KazooCluster.RequireAsync();
        await using var cluster = await ZkNodes.StartClusterAsync();
        await cluster.WaitForLeaderAsync();
        await using var kazoo = KazooCluster.Start("follower", Hosts(cluster, cluster.Follower()));
        var (code, text) = await kazoo.WaitExitAsync();
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.EndsWith("ok\n", text);
    }

    [SkippableFact]
    public async Task Kazoo_TheNodeItIsOnStops_TheSessionMovesWithItsEphemeralsAndWatches()
    {
        await KazooCluster.RequireAsync();
        await using var cluster = await ZkNodes.StartClusterAsync();
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        await using var kazoo = KazooCluster.Start("move", Hosts(cluster, follower));
        await kazoo.WaitForLineAsync("ready");
        // Stopping a node closes its ZooKeeper port first and leaves the cluster at once, as a crash would.
        await cluster.StopNodeAsync(follower.Id);
        await kazoo.SendLineAsync("go");
        var (code, text) = await kazoo.WaitExitAsync();
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.EndsWith("ok\n", text);
    }

    [SkippableFact]
    public async Task Kazoo_SessionTimeoutPassesDuringAnOutage_TheSessionIsExpiredAndItsEphemeralsGone()
    {
        await KazooCluster.RequireAsync();
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        // kazoo reaches its node through a relay, so the test can cut it off and let it back.
        await using var relay = FaultyTcpRelay.Start(follower.ZooKeeperEndPoint!);
        await using var kazoo = KazooCluster.Start("expire", relay.Endpoint.ToString(), "4");
        var session = long.Parse((await kazoo.WaitForLineAsync("ready")).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(leader.Store.Read(s => s.GetSessions().Single(x => x.Id == session).EphemeralCount) == 1);

        relay.Mode = RelayMode.DropNew;
        relay.CutConnections();
        await Eventually.TrueAsync(() => !leader.Store.Read(s => s.TryGetSession(session, out _)), "the session expires while its client is cut off");
        Assert.DoesNotContain(leader.Store.Read(s => s.GetChildren("/").Children), c => c.StartsWith("x-", StringComparison.Ordinal));
        relay.Mode = RelayMode.Pass;
        await kazoo.SendLineAsync("go");
        var (code, text) = await kazoo.WaitExitAsync();
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.EndsWith("ok\n", text);
    }

    private sealed record SetWatchesBody(SetWatchesRequest Request) : IJuteWritable
    {
        public void Write(Mesh.Registry.ZooKeeper.Jute.JuteWriter writer) => Request.Write(writer, version2: false);
    }
}
