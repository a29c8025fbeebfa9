using System.Net;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>A real registry node serving --zk on a port 0 listener, spoken to over real sockets.</summary>
public sealed class ZooKeeperPortTests
{
    private const string AdminToken = "zookeeper-admin-token-0123456789";

    private static CreateRequest Create(string path, string data = "", ZkCreateFlags flags = ZkCreateFlags.Persistent) =>
        new(path, Encoding.UTF8.GetBytes(data), Acl.OpenUnsafe, (int)flags);

    [Fact]
    public async Task Session_IsARegistrySession_AndItsNodesAreTheOnesTheHttpApiSees()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        Assert.True(client.Session.SessionId > 0);
        Assert.Equal(10_000, client.Session.TimeOut);

        var (created, body, _) = await client.CallAsync(OpCode.Create2, Create("/zk-made", "from zookeeper", ZkCreateFlags.Ephemeral));
        Assert.Equal(0, created.Err);
        var stat = ZkTestClient.Parse<Create2Response>(body).Stat;
        Assert.Equal((client.Session.SessionId, created.Zxid), (stat.EphemeralOwner, stat.Czxid));

        var http = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node, "/v1/nodes/zk-made")), HttpStatusCode.OK);
        Assert.Equal("from zookeeper", Encoding.UTF8.GetString(http.GetProperty("data").GetBytesFromBase64()));
        var sessions = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node, "/v1/sessions")), HttpStatusCode.OK);
        Assert.Contains(sessions.GetProperty("sessions").EnumerateArray(), s => s.GetProperty("id").GetInt64() == client.Session.SessionId);

        // And the other way round: a node made over HTTP is read over ZooKeeper.
        var (path, _) = await cluster.CreateOnLeaderAsync("/http-made", "over http");
        var (read, data, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest(path, false));
        Assert.Equal(0, read.Err);
        Assert.Equal("over http", Encoding.UTF8.GetString(ZkTestClient.Parse<GetDataResponse>(data).Data!));

        var (closed, _, _) = await client.CallAsync(OpCode.CloseSession, null);
        Assert.Equal(0, closed.Err);
        Assert.True(await client.ClosedByServerAsync());
        Assert.False(node.Store.Read(s => s.Exists("/zk-made").IsOk));
    }

    [Fact]
    public async Task Watch_SetOverZooKeeper_FiresForAWriteMadeOverHttp()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        await client.CallAsync(OpCode.Create, Create("/watched", "1"));
        await client.CallAsync(OpCode.GetData, new PathWatchRequest("/watched", true));

        var response = await cluster.Http.PutAsync(cluster.Url(cluster.Nodes[0]!, "/v1/nodes/watched"), new ByteArrayContent("2"u8.ToArray()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Unprompted: the notification arrives while the client sends nothing.
        var (header, body) = (await client.ReadReplyAsync())!.Value;
        Assert.Equal(Xids.Notification, header.Xid);
        var reader = new JuteReader(body);
        Assert.Equal(new WatcherEvent((int)WatcherEventType.NodeDataChanged, (int)KeeperState.SyncConnected, "/watched"), WatcherEvent.Read(ref reader));
    }

    [Fact]
    public async Task Reconnect_WithIdAndPassword_ResumesTheSession_AndAnUnknownSessionIsToldItExpired()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        var first = await ZkTestClient.ConnectAsync(zk);
        await first.CallAsync(OpCode.Create, Create("/mine", flags: ZkCreateFlags.Ephemeral));
        await first.DisposeAsync();

        await using var again = await ZkTestClient.ConnectAsync(zk, first.Session.SessionId, first.Session.Passwd);
        Assert.Equal((first.Session.SessionId, 10_000), (again.Session.SessionId, again.Session.TimeOut));
        var (exists, _, _) = await again.CallAsync(OpCode.Exists, new PathWatchRequest("/mine", false));
        Assert.Equal(0, exists.Err);

        await using var wrong = await ZkTestClient.ConnectAsync(zk, first.Session.SessionId, new byte[16]);
        Assert.Equal((0, 0L), (wrong.Session.TimeOut, wrong.Session.SessionId));
        Assert.True(await wrong.ClosedByServerAsync());

        // A client that has seen more than this node has applied is refused: closed without an answer.
        await using var ahead = await ZkTestClient.OpenAsync(zk);
        Assert.Null(await ahead.HandshakeAsync(new ConnectRequest(0, long.MaxValue, 10_000, 0, new byte[16], false)));
    }

    [Fact]
    public async Task SilentClient_IsDisconnectedAfterItsTimeout_ThenItsSessionExpiresWithItsEphemerals()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(limits: new(1_000, 40_000));
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        var client = await ZkTestClient.ConnectAsync(zk, timeoutMs: 1_000);
        Assert.Equal(1_000, client.Session.TimeOut);
        await client.CallAsync(OpCode.Create, Create("/short-lived", flags: ZkCreateFlags.Ephemeral));

        // No pings: the node closes the connection after a session timeout, then stops renewing it.
        Assert.True(await client.ClosedByServerAsync());
        await client.DisposeAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (node.Store.Read(s => s.TryGetSession(client.Session.SessionId, out var unused)))
        {
            Assert.True(waited.Elapsed < TestCluster.Timeout, "the session did not expire");
            await Task.Delay(50);
        }
        Assert.False(node.Store.Read(s => s.Exists("/short-lived").IsOk));

        await using var back = await ZkTestClient.ConnectAsync(zk, client.Session.SessionId, client.Session.Passwd);
        Assert.Equal(0, back.Session.TimeOut);
    }

    [Fact]
    public async Task MalformedFrames_CloseThatConnectionOnly()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var healthy = await ZkTestClient.ConnectAsync(zk);

        // A length over jute.maxbuffer, before the handshake and after it.
        await using (var oversize = await ZkTestClient.OpenAsync(zk))
        {
            await oversize.SendRawAsync([0x7F, 0xFF, 0xFF, 0xFF, 0, 0]);
            Assert.True(await oversize.ClosedByServerAsync());
        }
        await using (var lying = await ZkTestClient.ConnectAsync(zk))
        {
            // getData whose path length runs past the end of its frame.
            await lying.SendRawAsync(new JuteWriter().Int(1).Int((int)OpCode.GetData).Int(1000).Bool(false).ToFrame());
            Assert.True(await lying.ClosedByServerAsync());
        }
        await using (var negative = await ZkTestClient.ConnectAsync(zk))
        {
            await negative.SendRawAsync([0xFF, 0xFF, 0xFF, 0xF0]);
            Assert.True(await negative.ClosedByServerAsync());
        }

        var (ping, _, _) = await healthy.CallAsync(OpCode.Ping, null);
        Assert.Equal(Xids.Ping, ping.Xid);
        await using var fresh = await ZkTestClient.ConnectAsync(zk);
        Assert.True(fresh.Session.SessionId > 0);
    }

    [Fact]
    public async Task PipelinedRequests_AreAnsweredInOrder()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        const int count = 2_000;
        var writer = new List<byte>();
        for (var i = 1; i <= count; i++)
        {
            var frame = new JuteWriter();
            new RequestHeader(i, (int)(i % 10 == 0 ? OpCode.Create : OpCode.Exists)).Write(frame);
            if (i % 10 == 0)
                Create($"/p{i}").Write(frame);
            else
                new PathWatchRequest("/", false).Write(frame);
            writer.AddRange(frame.ToFrame());
        }
        await client.SendRawAsync([.. writer]);
        for (var i = 1; i <= count; i++)
        {
            var (header, _) = (await client.ReadReplyAsync())!.Value;
            Assert.Equal((i, 0), (header.Xid, header.Err));
        }
    }

    [Fact]
    public async Task PipelinedWrites_AreAppliedInRequestOrder_AndAReadAfterAWriteSeesIt()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await ZkPipelineScript.RunAsync(zk);
    }

    [Fact]
    public async Task UnsupportedOp_AnswersUnimplemented_AndTheConnectionCarriesOn()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var (ttl, _, _) = await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenUnsafe, 5, 1000));
        Assert.Equal((int)ZkError.Unimplemented, ttl.Err);
        var (sasl, _, _) = await client.CallAsync(OpCode.Sasl, new PathRequest("token"));
        Assert.Equal((int)ZkError.Unimplemented, sasl.Err);
        var (ok, _, _) = await client.CallAsync(OpCode.Exists, new PathWatchRequest("/", false));
        Assert.Equal(0, ok.Err);
    }

    [Theory]
    [InlineData("ruok", "imok")]
    [InlineData("isro", "rw")]
    [InlineData("envi", "zookeeper.version=3.8.0")]
    [InlineData("srvr", "Mode: standalone")]
    [InlineData("mntr", "zk_znode_count")]
    public async Task FourLetterWord_IsAnsweredInZooKeepersFormat(string word, string expected)
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var client = await ZkTestClient.OpenAsync(zk);
        await client.SendRawAsync(Encoding.ASCII.GetBytes(word));
        Assert.Contains(expected, await client.ReadToEndAsync());
    }

    [Fact]
    public async Task WhoAmI_ListsTheClientAddress_ThenTheDigestUserItAuthenticatedAs_NeverTheToken()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)]);
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var (before, body, _) = await client.CallAsync(OpCode.WhoAmI, null);
        Assert.Equal(0, before.Err);
        Assert.Equal([new ClientInfo("ip", "127.0.0.1")], ZkTestClient.Parse<WhoAmIResponse>(body).ClientInfo);

        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("ops:" + AdminToken)), Xids.Auth);
        Assert.Equal(0, (await client.ReadReplyAsync())!.Value.Header.Err);
        var (after, authed, _) = await client.CallAsync(OpCode.WhoAmI, null);
        Assert.Equal(0, after.Err);
        Assert.Equal([new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "ops")], ZkTestClient.Parse<WhoAmIResponse>(authed).ClientInfo);
    }

    [Fact]
    public async Task WithoutOpenMode_EveryOpNeedsDigestAuthWithARegistryToken_AndTheCaIsNeverServed()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)]);
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        var (refused, _, _) = await client.CallAsync(OpCode.GetChildren, new PathWatchRequest("/", false));
        Assert.Equal((int)ZkError.NoAuth, refused.Err);

        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("ops:" + AdminToken)), Xids.Auth);
        var (authed, _) = (await client.ReadReplyAsync())!.Value;
        Assert.Equal((Xids.Auth, 0), (authed.Xid, authed.Err));
        var (allowed, _, _) = await client.CallAsync(OpCode.Create, Create("/after-auth"));
        Assert.Equal(0, allowed.Err);
        var (ca, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/mesh/ca/material", false));
        Assert.Equal((int)ZkError.NoAuth, ca.Err);

        await using var intruder = await ZkTestClient.ConnectAsync(zk);
        await intruder.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", "ops:not-a-token"u8.ToArray()), Xids.Auth);
        var (failed, _) = (await intruder.ReadReplyAsync())!.Value;
        Assert.Equal((int)ZkError.AuthFailed, failed.Err);
        Assert.True(await intruder.ClosedByServerAsync());
    }

    [Fact]
    public async Task JoinToken_WritesOnlyUnderItsOwnServices_WithTheHttpApisOwnershipClaim()
    {
        const string shopToken = "shop-join-token-over-zookeeper-01";
        const string benchToken = "bench-join-token-over-zookeeper-1";
        var (cluster, zk) = await ZkNodes.StartAsync(open: false,
            joinTokens: [Mesh.Registry.CertificateAuthority.JoinTokenGrant.Parse("shop=" + shopToken), Mesh.Registry.CertificateAuthority.JoinTokenGrant.Parse("bench=" + benchToken)]);
        await using var _ = cluster;
        await using var shop = await AuthenticatedAsync(zk, shopToken);

        // The first registration claims the name for namespace shop, in the same transaction.
        var (created, _, _) = await shop.CallAsync(OpCode.Create, Create("/services/web/i-1", "{}", ZkCreateFlags.Ephemeral));
        Assert.Equal(0, created.Err);
        var owner = cluster.Nodes[0]!.Store.Read(s => s.GetNode("/services/web").Data.ToArray());
        Assert.Equal("shop", Mesh.Registry.Contracts.ServiceOwner.Parse(owner, out var invalid)?.Namespace);
        Assert.Null(invalid);
        // Not a join token's to change: routes, and the owner record itself.
        Assert.Equal((int)ZkError.NoAuth, (await shop.CallAsync(OpCode.Create, Create("/config/routes/x"))).Header.Err);
        Assert.Equal((int)ZkError.NoAuth, (await shop.CallAsync(OpCode.SetData, new SetDataRequest("/services/web", [], -1))).Header.Err);

        // Another namespace may not register web.
        await using var bench = await AuthenticatedAsync(zk, benchToken);
        Assert.Equal((int)ZkError.NoAuth, (await bench.CallAsync(OpCode.Create, Create("/services/web/i-2", "{}", ZkCreateFlags.Ephemeral))).Header.Err);
        Assert.Equal(0, (await bench.CallAsync(OpCode.Create, Create("/services/batch/i-1", "{}", ZkCreateFlags.Ephemeral))).Header.Err);
    }

    [Fact]
    public async Task JoinToken_OnAFollower_ItsNamespaceQuotaHolds()
    {
        // A follower forwards the write to the leader, which stamps it with its own clock: the
        // quota the write counts against must travel with it (it was dropped, so a join token
        // could create without limit through any follower).
        const string shopToken = "shop-join-token-over-zookeeper-01";
        await using var cluster = await TestCluster.StartAsync(3, o => o with
        {
            ZooKeeper = new Mesh.Registry.ZooKeeper.ZooKeeperOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Open = false },
            JoinTokens = [Mesh.Registry.CertificateAuthority.JoinTokenGrant.Parse("shop=" + shopToken)],
            Limits = new Mesh.Registry.Api.Limits.RegistryLimits { QuotaNodes = 4 },
        });
        await Eventually.TrueAsync(() => cluster.Nodes.All(n => n!.Store.Read(s => s.GetNode(Mesh.Registry.CertificateAuthority.RegistryCertificateAuthority.MaterialPath).IsOk)),
            "every node has the CA material");
        await cluster.WaitForLeaderAsync();
        // A new session is made through the leader: right after start a follower may not know it yet.
        await using var shop = await Eventually.ObjectAsync<ZkTestClient>(async () => await AuthenticatedAsync(cluster.Follower().ZooKeeperEndPoint!, shopToken), "a follower opened a session");

        var answers = new List<int>();
        for (var i = 0; i < 8; i++)
            answers.Add((await shop.CallAsync(OpCode.Create, Create($"/services/web/i-{i}", "{}"))).Header.Err);

        // The namespace's four nodes fill up (the claim on /services/web may count among them);
        // every create after that is refused with ZooKeeper's quota error.
        var made = answers.TakeWhile(err => err == 0).Count();
        Assert.InRange(made, 1, 4);
        Assert.All(answers.Skip(made), err => Assert.Equal((int)ZkError.QuotaExceeded, err));
    }

    private static async Task<ZkTestClient> AuthenticatedAsync(IPEndPoint zk, string token)
    {
        var client = await ZkTestClient.ConnectAsync(zk);
        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("app:" + token)), Xids.Auth);
        Assert.Equal(0, (await client.ReadReplyAsync())!.Value.Header.Err);
        return client;
    }
}
