using System.Net;
using System.Text;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// A node and its quorum. By default, as with ZooKeeper's <c>readonlymode.enabled=false</c>: with a
/// quorum a client that allows read-only mode gets a read-write session; a node cut off from its
/// quorum serves nobody (connects closed unanswered, <c>isro</c> answers <c>null</c>) until it has a
/// leader again. In read-only mode (<c>--zk-read-only</c>) such a node serves clients that allow it,
/// read-only, until it has a leader again.
/// </summary>
public sealed class ZooKeeperQuorumTests
{
    [Fact]
    public async Task NodeWithoutAQuorum_ClosesEveryConnect_AndIsroSaysNull_UntilItHasALeaderAgain()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var kept = cluster.Follower();
        var zk = kept.ZooKeeperEndPoint!;
        Assert.Equal("rw", await WordAsync(zk, "isro"));
        await using (var readOnlyAllowed = await ZkTestClient.OpenAsync(zk))
        {
            var answer = await readOnlyAllowed.HandshakeAsync(new ConnectRequest(0, 0, 10_000, 0, new byte[16], ReadOnly: true));
            Assert.NotNull(answer);
            Assert.False(answer.Value.ReadOnly);
            Assert.True(answer.Value.SessionId > 0);
        }
        var session = await ZkTestClient.ConnectAsync(zk);
        await session.DisposeAsync();

        var others = cluster.Nodes.Where(n => n is not null && n != kept).Select(n => n!.Id).ToArray();
        foreach (var id in others)
            await cluster.StopNodeAsync(id);

        await Eventually.TrueAsync(async () => await WordAsync(zk, "isro") == "null", "the node cut off from its quorum answers isro with null");
        Assert.Contains("not currently serving requests", await WordAsync(zk, "srvr"));
        await using (var fresh = await ZkTestClient.OpenAsync(zk))
            Assert.Null(await fresh.HandshakeAsync(new ConnectRequest(0, 0, 10_000, 0, new byte[16], ReadOnly: true)));
        await using (var resumed = await ZkTestClient.OpenAsync(zk))
            Assert.Null(await resumed.HandshakeAsync(new ConnectRequest(0, 0, 10_000, session.Session.SessionId, session.Session.Passwd, ReadOnly: true)));

        await cluster.StartNodeAsync(others[0]);
        await Eventually.TrueAsync(async () => await WordAsync(zk, "isro") == "rw", "the node serves again once it has a leader");
        await using var back = await ZkTestClient.ConnectAsync(zk, session.Session.SessionId, session.Session.Passwd);
        Assert.Equal(session.Session.SessionId, back.Session.SessionId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadOnlyMode_NodeCutOff_ServesClientsThatAllowIt_ReadOnly_AndReadWriteAgainOnceItHasALeader(bool keepTheLeader)
    {
        await using var cluster = await ZkNodes.StartClusterAsync(n => n with { ZooKeeper = n.ZooKeeper! with { ReadOnlyMode = true } });
        var leader = await cluster.WaitForLeaderAsync();
        var kept = keepTheLeader ? leader : cluster.Follower();
        var zk = kept.ZooKeeperEndPoint!;
        var writer = await ZkTestClient.ConnectAsync(zk, timeoutMs: 30_000);
        var (created, _, _) = await writer.CallAsync(OpCode.Create, new CreateRequest("/app", "v1"u8.ToArray(), Acl.OpenUnsafe, 0));
        Assert.Equal(0, created.Err);
        Assert.Equal("rw", await WordAsync(zk, "isro"));

        var others = cluster.Nodes.Where(n => n is not null && n != kept).Select(n => n!.Id).ToArray();
        foreach (var id in others)
            await cluster.StopNodeAsync(id);

        // Cut off: its read-write connection is closed, so the client reconnects.
        Assert.True(await writer.ClosedByServerAsync(), "the read-write connection stayed open on the node cut off from its quorum");
        await Eventually.TrueAsync(async () => await WordAsync(zk, "isro") == "ro", "the node cut off from its quorum answers isro with ro");
        Assert.Contains("Mode: read-only", await WordAsync(zk, "srvr"));

        // A new client that allows read-only mode: a read-only session that reads the node's last state.
        await using var reader = await ZkTestClient.OpenAsync(zk);
        var answer = await reader.HandshakeAsync(new ConnectRequest(0, created.Zxid, 10_000, 0, new byte[16], ReadOnly: true));
        Assert.NotNull(answer);
        Assert.True(answer.Value.ReadOnly);
        var (read, data, _) = await reader.CallAsync(OpCode.GetData, new PathWatchRequest("/app", false));
        Assert.Equal(0, read.Err);
        Assert.Equal("v1"u8.ToArray(), ZkTestClient.Parse<GetDataResponse>(data).Data);
        var (refused, _, _) = await reader.CallAsync(OpCode.Create, new CreateRequest("/fred", [], Acl.OpenUnsafe, 0));
        Assert.Equal((int)ZkError.NotReadOnly, refused.Err);

        // The writer's session, resumed by a client that allows read-only mode: the same session, read-only.
        await using var resumed = await ZkTestClient.OpenAsync(zk);
        var again = await resumed.HandshakeAsync(new ConnectRequest(0, created.Zxid, 30_000, writer.Session.SessionId, writer.Session.Passwd, ReadOnly: true));
        Assert.NotNull(again);
        Assert.Equal((writer.Session.SessionId, true), (again.Value.SessionId, again.Value.ReadOnly));
        // A client that does not allow it is closed unanswered, as without the mode.
        await using (var strict = await ZkTestClient.OpenAsync(zk))
            Assert.Null(await strict.HandshakeAsync(new ConnectRequest(0, 0, 10_000, 0, new byte[16], ReadOnly: false)));

        // A leader again: read-only connections are closed; the writer's session carries on read-write.
        await cluster.StartNodeAsync(others[0]);
        Assert.True(await reader.ClosedByServerAsync(), "the read-only connection stayed open once the node had a leader");
        Assert.True(await resumed.ClosedByServerAsync(), "the resumed read-only connection stayed open once the node had a leader");
        await Eventually.TrueAsync(async () => await WordAsync(zk, "isro") == "rw", "the node serves read-write again once it has a leader");
        // Right after the election a write may still meet ConnectionLoss (the new leader settling);
        // the client reconnects with its session and tries again, as ZooKeeper's clients do.
        await Eventually.TrueAsync(async () =>
        {
            await using var back = await ZkTestClient.ConnectAsync(zk, writer.Session.SessionId, writer.Session.Passwd);
            Assert.False(back.Session.ReadOnly);
            var (written, _, _) = await back.CallAsync(OpCode.SetData, new SetDataRequest("/app", "v2"u8.ToArray(), -1));
            return written.Err == 0;
        }, "the writer's session writes again once the node has a leader");
        // The read-only session was the cut-off node's own: a node with a quorum does not know it.
        await using var local = await ZkTestClient.OpenAsync(zk);
        var expired = await local.HandshakeAsync(new ConnectRequest(0, 0, 10_000, answer.Value.SessionId, answer.Value.Passwd, ReadOnly: true));
        Assert.Equal(0, expired?.TimeOut);
    }

    private static async Task<string> WordAsync(IPEndPoint zk, string word)
    {
        await using var client = await ZkTestClient.OpenAsync(zk);
        await client.SendRawAsync(Encoding.ASCII.GetBytes(word));
        return await client.ReadToEndAsync();
    }
}
