using System.Net;
using System.Text;
using Mesh.Registry.Reaping;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// Container and TTL nodes on a real node's ZooKeeper port: made, read with their stat, seen over
/// HTTP, reaped by the leader (a short check interval), and kept across a snapshot and a restart.
/// </summary>
public sealed class ZooKeeperContainerTtlTests
{
    private static readonly NodeReaperOptions FastReaper = new() { CheckInterval = TimeSpan.FromMilliseconds(50) };

    private static CreateRequest Create(string path, ZkCreateFlags flags = ZkCreateFlags.Persistent) => new(path, [], Acl.OpenUnsafe, (int)flags);

    private static Task<(TestCluster Cluster, IPEndPoint ZooKeeper)> StartAsync(bool ttlNodes = true, long snapshotEvery = 20_000) =>
        ZkNodes.StartAsync(configure: o => o with { TtlNodes = ttlNodes }, nodeOptions: o => o with { Reaper = FastReaper, SnapshotEvery = snapshotEvery });

    [Fact]
    public async Task Container_IsReapedOnceItsLastChildIsDeleted_AndItsWatchersHearOfIt()
    {
        var (cluster, zk) = await StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var (created, body, _) = await client.CallAsync(OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container));
        Assert.Equal(0, created.Err);
        Assert.Equal(0, ZkTestClient.Parse<Create2Response>(body).Stat.EphemeralOwner);
        await client.CallAsync(OpCode.Create, Create("/box/x"));
        await client.CallAsync(OpCode.GetData, new PathWatchRequest("/box", true));

        var (deleted, _, _) = await client.CallAsync(OpCode.Delete, new DeleteRequest("/box/x", -1));
        Assert.Equal(0, deleted.Err);

        // Unprompted: the reaper's delete reaches the watcher while the client sends nothing.
        var (header, note) = (await client.ReadReplyAsync())!.Value;
        Assert.Equal(Xids.Notification, header.Xid);
        var reader = new JuteReader(note);
        Assert.Equal(new WatcherEvent((int)WatcherEventType.NodeDeleted, (int)KeeperState.SyncConnected, "/box"), WatcherEvent.Read(ref reader));
        Assert.Equal((int)ZkError.NoNode, (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/box", false))).Header.Err);
    }

    [Fact]
    public async Task Container_ThatNeverHadAChild_OrStillHasOne_IsKept()
    {
        var (cluster, zk) = await StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        await client.CallAsync(OpCode.CreateContainer, Create("/unused", ZkCreateFlags.Container));
        await client.CallAsync(OpCode.CreateContainer, Create("/busy", ZkCreateFlags.Container));
        await client.CallAsync(OpCode.Create, Create("/busy/a"));
        // The child is swapped for another in one multi: the container is never seen empty.
        var (swapped, _, _) = await client.CallAsync(OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.Delete, new DeleteRequest("/busy/a", -1)),
            new MultiOp(OpCode.Create, Create("/busy/b")),
        ]));
        Assert.Equal(0, swapped.Err);
        // A TTL node made after both, and reaped after its TTL, shows the reaper has passed over them since.
        await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/marker", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 1));
        await Eventually.TrueAsync(async () => (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/marker", false))).Header.Err == (int)ZkError.NoNode,
            "the TTL node marker is reaped");

        Assert.Equal(0, (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/unused", false))).Header.Err);
        Assert.Equal(0, (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/busy", false))).Header.Err);
    }

    [Fact]
    public async Task TtlNode_IsReapedOnceOlderThanItsTtl_UnlessItHasAChild_AndHttpShowsItsKind()
    {
        var (cluster, zk) = await StartAsync();
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var (made, _, _) = await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/lease", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 60_000));
        Assert.Equal(0, made.Err);
        await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/parent", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 200));
        await client.CallAsync(OpCode.Create, Create("/parent/child"));
        var (seq, seqBody, _) = await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/short-", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentSequentialWithTtl, 200));
        Assert.Equal(0, seq.Err);
        var shortPath = ZkTestClient.Parse<Create2Response>(seqBody).Path!;

        var stat = (await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node, "/v1/nodes/lease")), HttpStatusCode.OK)).GetProperty("stat");
        Assert.Equal(("ttl", 60_000), (stat.GetProperty("kind").GetString(), stat.GetProperty("ttlMs").GetInt64()));
        await Eventually.TrueAsync(async () => (await client.CallAsync(OpCode.Exists, new PathWatchRequest(shortPath, false))).Header.Err == (int)ZkError.NoNode,
            $"the TTL node {shortPath} is reaped");
        Assert.Equal(0, (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/lease", false))).Header.Err);
        Assert.Equal(0, (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/parent", false))).Header.Err);

        // Its child gone, the TTL node older than its TTL goes too.
        await client.CallAsync(OpCode.Delete, new DeleteRequest("/parent/child", -1));
        await Eventually.TrueAsync(async () => (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/parent", false))).Header.Err == (int)ZkError.NoNode,
            "the emptied TTL node is reaped");
    }

    [Fact]
    public async Task TtlNodes_WhenNotTurnedOn_AreUnimplemented_AndAContainersStatOverHttpSaysContainer()
    {
        var (cluster, zk) = await StartAsync(ttlNodes: false);
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);

        var (ttl, _, _) = await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 1000));
        await client.CallAsync(OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container));

        Assert.Equal((int)ZkError.Unimplemented, ttl.Err);
        var stat = (await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(cluster.Nodes[0]!, "/v1/nodes/box")), HttpStatusCode.OK)).GetProperty("stat");
        Assert.Equal("container", stat.GetProperty("kind").GetString());
        Assert.False(stat.TryGetProperty("ttlMs", out var ttlMs), $"ttlMs {ttlMs}");
    }

    [Fact]
    public async Task Multi_MakesContainersAndTtlNodes()
    {
        var (cluster, zk) = await StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);

        var (multi, body, _) = await client.CallAsync(OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container)),
            new MultiOp(OpCode.CreateTtl, new CreateTtlRequest("/box/t", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 100)),
        ]));

        Assert.Equal(0, multi.Err);
        var reader = new JuteReader(body);
        Assert.Equal([15, 15], MultiResponse.Read(ref reader).Select(r => r.Type));
        // The TTL node expires, which empties the container that had it: both go.
        await Eventually.TrueAsync(async () => (await client.CallAsync(OpCode.Exists, new PathWatchRequest("/box", false))).Header.Err == (int)ZkError.NoNode,
            "the container is reaped after its TTL child");
    }

    [Fact]
    public async Task ContainerAndTtlNode_SurviveASnapshotAndARestart_AndAreStillReaped()
    {
        var (cluster, zk) = await StartAsync(snapshotEvery: 5);
        await using var _ = cluster;
        await using (var client = await ZkTestClient.ConnectAsync(zk))
        {
            await client.CallAsync(OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container));
            await client.CallAsync(OpCode.Create, Create("/box/x"));
            await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/lease", [], Acl.OpenUnsafe, (int)ZkCreateFlags.PersistentWithTtl, 3_600_000));
            for (var i = 0; i < 10; i++)
                await client.CallAsync(OpCode.Create, Create($"/filler{i}"));
        }

        await cluster.StopNodeAsync(1);
        await cluster.StartNodeAsync(1);
        var node = await cluster.WaitForLeaderAsync();

        Assert.Equal(Core.Tree.NodeKind.Ttl, node.Store.Read(s => s.Exists("/lease").Stat.Kind));
        Assert.Equal(3_600_000, node.Store.Read(s => s.Exists("/lease").Stat.TtlMs));
        Assert.Equal(Core.Tree.NodeKind.Container, node.Store.Read(s => s.Exists("/box").Stat.Kind));
        await Eventually.TrueAsync(() => node.ZooKeeperEndPoint is not null && node.Store.Read(s => s.AppliedIndex) > 0, "the node serves again");
        await using var again = await ZkTestClient.ConnectAsync(node.ZooKeeperEndPoint!);
        await again.CallAsync(OpCode.Delete, new DeleteRequest("/box/x", -1));
        await Eventually.TrueAsync(() => !node.Store.Read(s => s.Exists("/box").IsOk), "the restored container is reaped once empty");
    }

    private sealed record MultiBody(IReadOnlyList<MultiOp> Ops) : IJuteWritable
    {
        public void Write(JuteWriter writer) => MultiRequest.Write(writer, Ops);
    }
}
