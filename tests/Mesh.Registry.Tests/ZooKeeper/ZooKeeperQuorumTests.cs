using System.Net;
using System.Text;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// Read-only mode is not offered, as with ZooKeeper's default (<c>readonlymode.enabled=false</c>):
/// with a quorum a client that allows read-only mode gets a read-write session; a node cut off from
/// its quorum serves nobody (connects closed unanswered, <c>isro</c> answers <c>null</c>) until
/// it has a leader again.
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

    private static async Task<string> WordAsync(IPEndPoint zk, string word)
    {
        await using var client = await ZkTestClient.OpenAsync(zk);
        await client.SendRawAsync(Encoding.ASCII.GetBytes(word));
        return await client.ReadToEndAsync();
    }
}
