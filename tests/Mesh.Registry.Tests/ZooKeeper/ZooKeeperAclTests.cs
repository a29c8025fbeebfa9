using System.Net;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>Per-node ACLs and ZooKeeper digest users on a real node's ZooKeeper port, over real sockets.</summary>
public sealed class ZooKeeperAclTests
{
    private const string ReadToken = "zookeeper-read-token-0123456789";

    private static readonly Acl AliceAll = new(Acl.All, new Id("digest", ZkDigest.Of("alice:secret")));

    private static async Task<int> AuthAsync(ZkTestClient client, string credentials)
    {
        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes(credentials)), Xids.Auth);
        return (await client.ReadReplyAsync())!.Value.Header.Err;
    }

    private static CreateRequest Create(string path, params Acl[] acl) => new(path, "x"u8.ToArray(), acl, (int)ZkCreateFlags.Persistent);

    [Fact]
    public async Task OpenMode_ADigestUserThatIsNoToken_GetsItsIdentity_AndNodeAclsHoldOtherSessionsOff()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var alice = await ZkTestClient.ConnectAsync(zk);
        await using var bob = await ZkTestClient.ConnectAsync(zk);

        Assert.Equal(0, await AuthAsync(alice, "alice:secret"));
        var (who, body, _) = await alice.CallAsync(OpCode.WhoAmI, null);
        Assert.Equal(0, who.Err);
        Assert.Contains(new ClientInfo("digest", "alice"), ZkTestClient.Parse<WhoAmIResponse>(body).ClientInfo);
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/private", AliceAll))).Header.Err);

        Assert.Equal((int)ZkError.NoAuth, (await bob.CallAsync(OpCode.GetData, new PathWatchRequest("/private", false))).Header.Err);
        Assert.Equal((int)ZkError.NoAuth, (await bob.CallAsync(OpCode.SetData, new SetDataRequest("/private", [], -1))).Header.Err);
        Assert.Equal((int)ZkError.NoAuth, (await bob.CallAsync(OpCode.Create, Create("/private/child", Acl.OpenUnsafe[0]))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.GetData, new PathWatchRequest("/private", false))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.SetData, new SetDataRequest("/private", [], 0))).Header.Err);
    }

    [Fact]
    public async Task WithoutOpenMode_ANonTokenPasswordIsRefused_UntilATokenWasGiven_ThenAddsOnlyTheIdentity()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Reader, ReadToken)]);
        await using var _ = cluster;
        await using (var stranger = await ZkTestClient.ConnectAsync(zk))
        {
            Assert.Equal((int)ZkError.AuthFailed, await AuthAsync(stranger, "alice:secret"));
            Assert.True(await stranger.ClosedByServerAsync());
        }

        await using var reader = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await AuthAsync(reader, "ops:" + ReadToken));
        Assert.Equal(0, await AuthAsync(reader, "alice:secret"));

        // The digest user brings no registry right: a read token still cannot write.
        Assert.Equal((int)ZkError.NoAuth, (await reader.CallAsync(OpCode.Create, Create("/mine", Acl.OpenUnsafe[0]))).Header.Err);
        var (who, body, _) = await reader.CallAsync(OpCode.WhoAmI, null);
        Assert.Equal(0, who.Err);
        Assert.Equal(["ip", "digest", "digest"], ZkTestClient.Parse<WhoAmIResponse>(body).ClientInfo.Select(c => c.AuthScheme));
    }

    [Fact]
    public async Task HttpApi_KeepsToRegistryTokens_AndIsNotBoundByNodeAcls()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var elsewhere = new Acl(Acl.All, new Id("ip", "10.0.0.0/8"));
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, Create("/elsewhere", elsewhere))).Header.Err);
        Assert.Equal((int)ZkError.NoAuth, (await client.CallAsync(OpCode.SetData, new SetDataRequest("/elsewhere", [], -1))).Header.Err);

        var response = await cluster.Http.PutAsync(cluster.Url(cluster.Nodes[0]!, "/v1/nodes/elsewhere"), new ByteArrayContent("over http"u8.ToArray()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (acl, aclBody, _) = await client.CallAsync(OpCode.GetAcl, new PathRequest("/elsewhere"));
        Assert.Equal((int)ZkError.NoAuth, acl.Err);
        Assert.Empty(aclBody);
    }

    [Fact]
    public async Task SetAcl_WithTheAuthScheme_OpensALockedNode_CheckingTheAclVersion()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var alice = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await AuthAsync(alice, "alice:secret"));
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/locked", new Acl(Acl.All, new Id("auth", ""))))).Header.Err);

        Assert.Equal((int)ZkError.BadVersion, (await alice.CallAsync(OpCode.SetAcl, new SetAclRequest("/locked", Acl.OpenUnsafe, 1))).Header.Err);
        var (set, body, _) = await alice.CallAsync(OpCode.SetAcl, new SetAclRequest("/locked", Acl.OpenUnsafe, 0));

        Assert.Equal(0, set.Err);
        Assert.Equal(1, ZkTestClient.Parse<StatResponse>(body).Stat.Aversion);
        Assert.True(cluster.Nodes[0]!.Store.Read(s => s.AclsInUse));
    }
}
