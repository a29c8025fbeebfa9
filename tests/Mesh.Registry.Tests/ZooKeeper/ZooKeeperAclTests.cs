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

    [Fact]
    public async Task Watches_OnAReadableParent_DoNotNameNodesTheSessionMayNotRead()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var alice = await ZkTestClient.ConnectAsync(zk);
        await using var bob = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await AuthAsync(alice, "alice:secret"));
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/shared", Acl.OpenUnsafe[0]))).Header.Err);
        Assert.Equal(0, (await bob.CallAsync(OpCode.AddWatch, new AddWatchRequest("/shared", (int)AddWatchMode.PersistentRecursive))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/shared/alice-only", AliceAll))).Header.Err);
        // exists asks for no right, so bob may set a watch there; its event is still not his to hear.
        Assert.Equal(0, (await bob.CallAsync(OpCode.Exists, new PathWatchRequest("/shared/alice-only", true))).Header.Err);

        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/shared/alice-only/customer-4711", AliceAll))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.SetData, new SetDataRequest("/shared/alice-only", [], -1))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.Delete, new DeleteRequest("/shared/alice-only/customer-4711", -1))).Header.Err);
        // A node's own ACL decides, as in ZooKeeper: an open node below a closed one is heard.
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/shared/alice-only/open", Acl.OpenUnsafe[0]))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create("/shared/visible", Acl.OpenUnsafe[0]))).Header.Err);
        var (exists, _, heard) = await bob.CallAsync(OpCode.Exists, new PathWatchRequest("/shared/visible", false));

        Assert.Equal(0, exists.Err);
        Assert.Equal(
            [((int)WatcherEventType.NodeCreated, "/shared/alice-only/open"), ((int)WatcherEventType.NodeCreated, "/shared/visible")],
            heard.Select(e => (e.Type, e.Path!)));
    }

    [Fact]
    public async Task ARecursiveWatchOnTheRoot_NeverHearsOfTheCasNodes_AndTheyAreNotCounted()
    {
        const string shopToken = "zookeeper-shop-token-0123456789";
        var (cluster, zk) = await ZkNodes.StartAsync(joinTokens: [Mesh.Registry.CertificateAuthority.JoinTokenGrant.Parse("shop=" + shopToken)]);
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        await Mesh.Testing.Eventually.TrueAsync(
            () => node.Store.Read(s => s.GetChildren(Mesh.Registry.CertificateAuthority.RegistryCertificateAuthority.TokensPath).Children.Count == 1),
            "the join token's record is stored");
        await using var watcher = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, (await watcher.CallAsync(OpCode.AddWatch, new AddWatchRequest("/", (int)AddWatchMode.PersistentRecursive))).Header.Err);

        // Revoking writes under /mesh/ca: a record named after the token's namespace goes, a marker comes.
        using var client = new Mesh.Registry.Client.RegistryClient(node.ClientUrl.ToString());
        Assert.Equal(1, (await client.RevokeJoinTokenAsync(shopToken)).Removed);
        var (created, _, heard) = await watcher.CallAsync(OpCode.Create, Create("/after", Acl.OpenUnsafe[0]));
        var (count, countBody, _) = await watcher.CallAsync(OpCode.GetAllChildrenNumber, new PathRequest("/mesh"));

        Assert.Equal(0, created.Err);
        Assert.Equal([((int)WatcherEventType.NodeCreated, "/after")], heard.Select(e => (e.Type, e.Path!)));
        Assert.Equal(0, count.Err);
        Assert.Equal(0, ZkTestClient.Parse<IntResponse>(countBody).Value);
    }

    [Fact]
    public async Task AConnection_HoldsAtMostSixteenDigestIdentities_EachFromAtMostOneKiBOfCredentials()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using (var many = await ZkTestClient.ConnectAsync(zk))
        {
            for (var i = 0; i < ZkSession.MaxDigestIdentities; i++)
                Assert.Equal(0, await AuthAsync(many, $"user{i}:secret"));
            // Every write of the session would carry each of them in the replicated log.
            Assert.Equal((int)ZkError.AuthFailed, await AuthAsync(many, "one-more:secret"));
            Assert.True(await many.ClosedByServerAsync());
        }

        await using var huge = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await AuthAsync(huge, "user:" + new string('p', ZkSession.MaxAuthBytes - "user:".Length)));
        Assert.Equal((int)ZkError.AuthFailed, await AuthAsync(huge, "user:" + new string('p', ZkSession.MaxAuthBytes)));
        Assert.True(await huge.ClosedByServerAsync());
    }

    [Fact]
    public async Task AnAcl_OfMoreThan1024Entries_AuthEntriesCountedPerIdentity_IsInvalid()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        for (var i = 0; i < ZkSession.MaxDigestIdentities; i++)
            Assert.Equal(0, await AuthAsync(client, $"user{i}:secret"));
        Acl[] Auth(int entries) => [.. Enumerable.Range(1, entries).Select(perms => new Acl(perms, new Id("auth", "")))];
        Acl[] Ips(int entries) => [.. Enumerable.Range(0, entries).Select(i => new Acl(Acl.All, new Id("ip", $"10.0.{i / 256}.{i % 256}")))];

        // 64 auth entries of 16 identities each are 1024 entries; 65 are 1040.
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, Create("/auth-1024", Auth(64)))).Header.Err);
        Assert.Equal((int)ZkError.InvalidAcl, (await client.CallAsync(OpCode.Create, Create("/auth-1040", Auth(65)))).Header.Err);
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, Create("/ip-1024", Ips(1024)))).Header.Err);
        Assert.Equal((int)ZkError.InvalidAcl, (await client.CallAsync(OpCode.Create, Create("/ip-1025", Ips(1025)))).Header.Err);
        Assert.Equal((int)ZkError.InvalidAcl, (await client.CallAsync(OpCode.SetAcl, new SetAclRequest("/ip-1024", Ips(1025), -1))).Header.Err);
        Assert.Equal(1024, cluster.Nodes[0]!.Store.Read(s => s.GetAcl("/auth-1024").Acl!.Count));
    }
}
