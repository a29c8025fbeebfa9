using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>The ZooKeeper port's limits before any token is checked: connections per address and in total, new sessions per address, watches per session.</summary>
public sealed class ZooKeeperLimitsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string AdminToken = "zookeeper-admin-token-0123456789";

    [Fact]
    public async Task ConnectFlood_FromOneAddress_IsRefusedByLimits_AndTheNodeKeepsServingAnAuthenticatedClient()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)],
            configure: o => o with { MaxConnectionsPerAddress = 60, SessionsPerSecondPerAddress = 20, SessionBurstPerAddress = 40 });
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        await AuthenticateAsync(client);
        var (created, _, _) = await client.CallAsync(OpCode.Create, new CreateRequest("/before-flood", [], Acl.OpenUnsafe, 0));
        Assert.Equal(0, created.Err);
        var baseline = node.Store.Read(s => s.GetSessions().Count);

        // 2,000 connects from 127.0.0.1, 100 at a time, each asking for a new session and hanging
        // up without authenticating; bounded to 30 s. Live sessions are sampled all along.
        const int connects = 2_000;
        var attempted = 0;
        var answered = 0;
        var maxSessions = 0;
        using var flood = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sampler = Task.Run(async () =>
        {
            while (!flood.IsCancellationRequested)
            {
                var live = node.Store.Read(s => s.GetSessions().Count);
                InterlockedMax(ref maxSessions, live);
                await Task.Delay(5);
            }
        });
        await Parallel.ForEachAsync(Enumerable.Range(0, connects), new ParallelOptions { MaxDegreeOfParallelism = 100, CancellationToken = flood.Token }, async (_, ct) =>
        {
            Interlocked.Increment(ref attempted);
            if (await TryNewSessionAsync(zk, ct))
                Interlocked.Increment(ref answered);
        }).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        await flood.CancelAsync();
        await sampler;

        output.WriteLine($"{attempted} connects, {answered} got a session, at most {maxSessions} live sessions (baseline {baseline})");
        Assert.True(attempted >= 500, $"only {attempted} connects were made");
        // Most were refused (connection cap or session rate); the sessions that were opened were
        // closed with their unauthenticated connections, so the node never held more than the
        // connections one address may keep open, plus the authenticated client.
        Assert.True(answered < attempted / 2, $"{answered} of {attempted} connects got a session");
        Assert.True(maxSessions <= baseline + 60, $"the node held {maxSessions} sessions during the flood ({baseline} before it)");
        await Eventually.TrueAsync(() => node.Store.Read(s => s.GetSessions().Count) == baseline, "the flood's sessions are closed, only the authenticated client's is left");

        // The authenticated client was never disturbed.
        var (read, body, _) = await client.CallAsync(OpCode.GetChildren, new PathWatchRequest("/", false));
        Assert.Equal(0, read.Err);
        Assert.Contains("before-flood", ZkTestClient.Parse<StringListResponse>(body).Items);
        var (after, _, _) = await client.CallAsync(OpCode.Create, new CreateRequest("/after-flood", [], Acl.OpenUnsafe, 0));
        Assert.Equal(0, after.Err);
        // And no connection of the flood is left open: only this client and the mntr connection itself.
        await Eventually.TrueAsync(async () => await AliveConnectionsAsync(zk) <= 2, "the flood's connections are gone");
    }

    /// <summary>A connection over a cap is closed at once: the reset can even reach the client before its connect has completed.</summary>
    private static async Task AssertClosedAtOnceAsync(System.Net.IPEndPoint zk)
    {
        try
        {
            await using var over = await ZkTestClient.OpenAsync(zk);
            Assert.True(await over.ClosedByServerAsync());
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
        }
    }

    [Fact]
    public async Task ConnectionsPerAddress_OverTheCap_AreClosedAtOnce_AndASlotFreesWhenOneCloses()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(configure: o => o with { MaxConnectionsPerAddress = 3 });
        await using var _ = cluster;
        var held = new List<ZkTestClient>();
        try
        {
            for (var i = 0; i < 3; i++)
                held.Add(await ZkTestClient.ConnectAsync(zk));
            await AssertClosedAtOnceAsync(zk);

            await held[0].DisposeAsync();
            held.RemoveAt(0);
            await using var again = await Eventually.ObjectAsync(async () =>
            {
                var client = await ZkTestClient.OpenAsync(zk);
                if (await client.HandshakeAsync(new ConnectRequest(0, 0, 10_000, 0, new byte[16], false)) is { SessionId: > 0 })
                    return client;
                await client.DisposeAsync();
                return null;
            }, "a slot frees once a connection closes");
            var (ping, _, _) = await again.CallAsync(OpCode.Ping, null);
            Assert.Equal(0, ping.Err);
        }
        finally
        {
            foreach (var client in held)
                await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task TotalConnections_OverTheCap_AreClosedAtOnce()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(configure: o => o with { MaxConnections = 2 });
        await using var _ = cluster;
        await using var first = await ZkTestClient.ConnectAsync(zk);
        await using var second = await ZkTestClient.ConnectAsync(zk);
        await AssertClosedAtOnceAsync(zk);
        var (ping, _, _) = await first.CallAsync(OpCode.Ping, null);
        Assert.Equal(0, ping.Err);
    }

    [Fact]
    public async Task NewSessions_OverTheRatePerAddress_AreClosedUnanswered_ButResumesAreNot()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(configure: o => o with { SessionsPerSecondPerAddress = 1, SessionBurstPerAddress = 2 });
        await using var _ = cluster;
        await using var first = await ZkTestClient.ConnectAsync(zk);
        await using var second = await ZkTestClient.ConnectAsync(zk);
        // The bucket is empty: a third new session within the same moment is refused (at most one
        // token can have come back since, so of two more tries at least one is refused).
        var refused = 0;
        for (var i = 0; i < 2; i++)
        {
            await using var extra = await ZkTestClient.OpenAsync(zk);
            if (await extra.HandshakeAsync(new ConnectRequest(0, 0, 10_000, 0, new byte[16], false)) is null)
                refused++;
        }
        Assert.True(refused >= 1);
        // Resuming a session is no new write: never limited.
        for (var i = 0; i < 3; i++)
        {
            await using var resumed = await ZkTestClient.ConnectAsync(zk, first.Session.SessionId, first.Session.Passwd);
            Assert.Equal(first.Session.SessionId, resumed.Session.SessionId);
        }
    }

    [Fact]
    public async Task Watches_OverTheCapPerSession_AreAnsweredThrottled_AndTheSessionCarriesOn()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(configure: o => o with { MaxWatchesPerSession = 3 });
        await using var _ = cluster;
        await using var client = await ZkTestClient.ConnectAsync(zk);
        for (var i = 0; i < 3; i++)
        {
            var (set, _, _) = await client.CallAsync(OpCode.Exists, new PathWatchRequest($"/w{i}", true));
            Assert.Equal((int)ZkError.NoNode, set.Err);
        }
        var (fourth, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/", true));
        Assert.Equal((int)ZkError.ThrottledOp, fourth.Err);
        var (many, _, _) = await client.CallAsync(OpCode.SetWatches, new SetWatchesBody(new SetWatchesRequest(0, ["/a", "/b"], [], [], [], [])));
        Assert.Equal((int)ZkError.ThrottledOp, many.Err);
        var (recursive, _, _) = await client.CallAsync(OpCode.AddWatch, new AddWatchRequest("/", (int)AddWatchMode.PersistentRecursive));
        Assert.Equal((int)ZkError.ThrottledOp, recursive.Err);

        // Reads without a watch still work, and a fired watch frees its place.
        var (plain, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/", false));
        Assert.Equal(0, plain.Err);
        var (created, _, fired) = await client.CallAsync(OpCode.Create, new CreateRequest("/w0", [], Acl.OpenUnsafe, 0));
        Assert.Equal(0, created.Err);
        Assert.Single(fired);
        var (again, _, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/", true));
        Assert.Equal(0, again.Err);
    }

    private static async Task AuthenticateAsync(ZkTestClient client)
    {
        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("ops:" + AdminToken)), Xids.Auth);
        var (authed, _) = (await client.ReadReplyAsync())!.Value;
        Assert.Equal((Xids.Auth, 0), (authed.Xid, authed.Err));
    }

    /// <summary>One connect asking for a new session, then a hang-up; true when the node answered with a session.</summary>
    private static async Task<bool> TryNewSessionAsync(IPEndPoint zk, CancellationToken cancellationToken)
    {
        try
        {
            await using var client = await ZkTestClient.OpenAsync(zk);
            return await client.HandshakeAsync(new ConnectRequest(0, 0, 30_000, 0, new byte[16], false)).WaitAsync(cancellationToken) is { SessionId: > 0 };
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return false; // closed at once, or reset
        }
    }

    private static async Task<int> AliveConnectionsAsync(IPEndPoint zk)
    {
        await using var client = await ZkTestClient.OpenAsync(zk);
        await client.SendRawAsync("mntr"u8.ToArray());
        var text = await client.ReadToEndAsync();
        var line = text.Split('\n').Single(l => l.StartsWith("zk_num_alive_connections", StringComparison.Ordinal));
        return int.Parse(line.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record SetWatchesBody(SetWatchesRequest Request) : IJuteWritable
    {
        public void Write(Mesh.Registry.ZooKeeper.Jute.JuteWriter writer) => Request.Write(writer, version2: false);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }

    [Fact]
    public async Task GetAllChildrenNumber_OfTheRootOfABigTree_CountsEveryNode_AndTheWritesSentWithItAreAllApplied()
    {
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        await using var writer = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, (await writer.CallAsync(OpCode.Create, new CreateRequest("/w", [], Acl.OpenUnsafe, 0))).Header.Err);
        // 100 parents of 1,000 children, sent back to back a parent at a time.
        const int parents = 100, children = 1_000;
        for (var i = 0; i < parents; i++)
        {
            var frames = new List<byte>();
            frames.AddRange(ZkPipelineScript.Frame(writer.NextXid(), OpCode.Create, new CreateRequest($"/t{i}", [], Acl.OpenUnsafe, 0)));
            for (var j = 0; j < children; j++)
                frames.AddRange(ZkPipelineScript.Frame(writer.NextXid(), OpCode.Create, new CreateRequest($"/t{i}/{j}", [], Acl.OpenUnsafe, 0)));
            await writer.SendRawAsync([.. frames]);
            for (var j = 0; j <= children; j++)
                Assert.Equal(0, (await writer.ReadReplyAsync())!.Value.Header.Err);
        }

        // 1,000 writes on another connection sent back to back, and right behind them the count. The
        // count's answer carries the index the node had applied when it finished: the writes at or
        // below it were applied before it was done. Walked under the store's lock in one go, none
        // could be applied while it ran, and next to none before it starts (each waits for its log
        // write first, the count for nothing).
        const int writes = 1_000;
        // Connected now: a connection idle for its session timeout while the tree is built is dropped.
        await using var counter = await ZkTestClient.ConnectAsync(zk);
        var burst = new List<byte>();
        for (var i = 0; i < writes; i++)
            burst.AddRange(ZkPipelineScript.Frame(writer.NextXid(), OpCode.SetData, new SetDataRequest("/w", [], -1)));
        await writer.SendRawAsync([.. burst]);
        await counter.SendAsync(OpCode.GetAllChildrenNumber, new PathRequest("/"));

        var (header, body) = (await counter.ReadReplyAsync())!.Value;
        Assert.Equal(0, header.Err);
        Assert.InRange(ZkTestClient.Parse<IntResponse>(body).Value, parents * (children + 1), int.MaxValue);
        var during = 0;
        for (var i = 0; i < writes; i++)
        {
            var (written, _) = (await writer.ReadReplyAsync())!.Value;
            Assert.Equal(0, written.Err);
            during += written.Zxid <= header.Zxid ? 1 : 0;
        }
        // How many fell within the count depends on this machine's load (1,000 of 1,000 on a quiet
        // one, 0 when the walk held the lock throughout, 1 seen under a full CI run), so it is
        // reported, not asserted: that writes are applied between the slices is shown by
        // ZkSessionTests.GetAllChildrenNumber_OnABigTree_IsCountedInSlicesWithWritesAppliedBetweenThem.
        output.WriteLine($"{during} of {writes} writes were applied before the count of {parents * (children + 1)} nodes finished");
    }
}
