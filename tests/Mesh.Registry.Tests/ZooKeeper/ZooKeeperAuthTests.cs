using System.Net;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>Who a ZooKeeper connection acts for: token guessing, several addauths, and which connection owns a session. Real node, real sockets.</summary>
public sealed class ZooKeeperAuthTests
{
    private const string AdminToken = "zookeeper-admin-token-0123456789";
    private const string ShopToken = "shop-join-token-over-zookeeper-01";
    private const string BenchToken = "bench-join-token-over-zookeeper-1";

    [Fact]
    public async Task AddAuth_AGuesser_IsCutOffUnchecked_WhileACorrectClientElsewhereIsServed_AndItsAddressWorksAgainAfterTheWindow()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)],
            nodeOptions: o => o with { Limits = o.Limits with { AuthFailuresPerAddress = 3, AuthFailureWindow = TimeSpan.FromSeconds(2) } });
        await using var _ = cluster;

        for (var i = 0; i < 3; i++)
        {
            await using var guess = await ZkTestClient.ConnectAsync(zk);
            Assert.Equal((int)ZkError.AuthFailed, await guess.AddAuthAsync($"ops:guess-{i}-0123456789abcdef"));
            Assert.True(await guess.ClosedByServerAsync());
        }
        // The right token now is refused too, and the connection closed: it was not checked.
        await using (var cut = await ZkTestClient.ConnectAsync(zk))
        {
            Assert.Equal((int)ZkError.AuthFailed, await cut.AddAuthAsync("ops:" + AdminToken));
            Assert.True(await cut.ClosedByServerAsync());
        }

        await using (var neighbour = await ZkTestClient.ConnectAsync(zk, local: IPAddress.Parse("127.0.0.2")))
        {
            Assert.Equal(0, await neighbour.AddAuthAsync("ops:" + AdminToken));
            Assert.Equal(0, (await neighbour.CallAsync(OpCode.Exists, new PathWatchRequest("/", false))).Header.Err);
        }

        await Eventually.TrueAsync(async () =>
        {
            await using var again = await ZkTestClient.ConnectAsync(zk);
            return await again.AddAuthAsync("ops:" + AdminToken) == 0;
        }, "the guesser's address authenticates again once its window ended");
    }

    [Fact]
    public async Task AddAuth_ASecondDifferentToken_IsAuthFailed_WhileTheSameTokenAgainAndPlainDigestIdentitiesAddUp()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false,
            joinTokens: [JoinTokenGrant.Parse("shop=" + ShopToken), JoinTokenGrant.Parse("bench=" + BenchToken)]);
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await client.AddAuthAsync("app:" + ShopToken));
        Assert.Equal(0, await client.AddAuthAsync("app:" + ShopToken));
        // As in ZooKeeper, digest identities add up: both are the session's.
        Assert.Equal(0, await client.AddAuthAsync("alice:not-a-registry-token"));
        var (who, body, _) = await client.CallAsync(OpCode.WhoAmI, null);
        Assert.Equal(0, who.Err);
        Assert.Equal([new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "app"), new ClientInfo("digest", "alice")], ZkTestClient.Parse<WhoAmIResponse>(body).ClientInfo);
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, new CreateRequest("/services/web/i-1", "{}"u8.ToArray(), Acl.OpenUnsafe, (int)ZkCreateFlags.Ephemeral))).Header.Err);

        // Another namespace's token does not swap (or add) its rights: refused, and the connection closed.
        Assert.Equal((int)ZkError.AuthFailed, await client.AddAuthAsync("app:" + BenchToken));
        Assert.True(await client.ClosedByServerAsync());
    }

    [Fact]
    public async Task Resume_OnAnotherConnection_ClosesTheOldOne_WhichCanNoLongerCloseTheSession()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)]);
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        // The connection that opened the session never authenticates: when it ends it would close
        // the session it opened, though the client carries on with it elsewhere.
        await using var stale = await ZkTestClient.ConnectAsync(zk);
        var id = stale.Session.SessionId;
        await using var resumed = await ZkTestClient.ConnectAsync(zk, id, stale.Session.Passwd);
        Assert.Equal(id, resumed.Session.SessionId);
        Assert.Equal(0, await resumed.AddAuthAsync("ops:" + AdminToken));
        Assert.Equal(0, (await resumed.CallAsync(OpCode.Create, new CreateRequest("/mine", [], Acl.OpenUnsafe, (int)ZkCreateFlags.Ephemeral))).Header.Err);

        // The old connection's closeSession is answered SessionMoved, or finds it closed already.
        ReplyHeader? answer = null;
        try
        {
            await stale.SendAsync(OpCode.CloseSession, null);
            answer = (await stale.ReadReplyAsync())?.Header;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
        }
        Assert.True(answer is null || answer.Value.Err == (int)ZkError.SessionMoved, $"the stale connection's closeSession was answered {answer?.Err}");
        Assert.True(await stale.ClosedByServerAsync());
        // Once the node is done with the old connection, the session and its node are still there.
        await Eventually.TrueAsync(() => node.ZooKeeperServer!.Facts().Connections == 1, "the node let go of the old connection");
        Assert.True(node.Store.Read(s => s.TryGetSession(id, out var _)));
        var (exists, _, _) = await resumed.CallAsync(OpCode.Exists, new PathWatchRequest("/mine", false));
        Assert.Equal(0, exists.Err);
    }
}
