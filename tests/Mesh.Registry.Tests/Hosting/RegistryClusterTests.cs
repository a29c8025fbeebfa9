using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.Tests.Hosting;

public sealed class RegistryClusterTests
{
    [Fact]
    public async Task Start_ThreeNodes_ElectsOneLeaderEveryoneAgreesOn()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();

        foreach (var node in cluster.Nodes)
        {
            var status = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node!, "/v1/status")), HttpStatusCode.OK);
            Assert.Equal(leader.Id, status.GetProperty("leader").GetInt32());
            Assert.Equal(node == leader ? "leader" : "follower", status.GetProperty("role").GetString());
            Assert.Equal(3, status.GetProperty("members").GetArrayLength());
        }
    }

    [Fact]
    public async Task Status_ShowsEveryMembersLag_AndNoneForAStoppedOne()
    {
        await using var cluster = await TestCluster.StartAsync();
        var (_, index) = await cluster.CreateOnLeaderAsync("/lag", "x");
        await cluster.WaitAppliedAsync(index);
        var leader = await cluster.WaitForLeaderAsync();

        var status = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(leader, "/v1/status")), HttpStatusCode.OK);
        var lags = status.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("lag")).ToArray();
        Assert.Equal(3, lags.Length);
        Assert.All(lags, lag => Assert.InRange(lag.GetInt64(), 0, 100)); // an idle cluster: a number, and small

        var follower = cluster.Follower();
        await cluster.StopNodeAsync(follower.Id);
        status = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(leader, "/v1/status")), HttpStatusCode.OK);
        var stopped = status.GetProperty("members").EnumerateArray().Single(m => m.GetProperty("id").GetInt32() == follower.Id);
        Assert.Equal(JsonValueKind.Null, stopped.GetProperty("lag").ValueKind);
    }

    [Fact]
    public async Task Write_SentToFollower_IsForwardedAndReplicatedEverywhere()
    {
        await using var cluster = await TestCluster.StartAsync();
        var follower = cluster.Follower();

        var created = await cluster.JsonAsync(
            await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/app/config?parents=true"), new StringContent("v1")), HttpStatusCode.Created);
        var index = created.GetProperty("index").GetInt64();
        await cluster.WaitAppliedAsync(index);

        foreach (var node in cluster.Nodes)
        {
            var raw = await cluster.Http.GetStringAsync(cluster.Url(node!, "/v1/nodes/app/config?raw=true&stale=true"));
            Assert.Equal("v1", raw);
        }
        // A linearizable read on a follower is forwarded to the leader and sees the write.
        var read = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(follower, "/v1/nodes/app/config")), HttpStatusCode.OK);
        Assert.Equal("v1", Encoding.UTF8.GetString(read.GetProperty("data").GetBytesFromBase64()));
    }

    [Fact]
    public async Task LeaderKilledMidLoad_WritesResumeAndEveryAcknowledgedWriteIsEverywhere()
    {
        await using var cluster = await TestCluster.StartAsync();
        var acknowledged = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var afterKill = 0;
        var killed = false;

        async Task WriterAsync(int worker)
        {
            var seq = 0L;
            var id = Guid.NewGuid();
            for (var i = 0; !stop.IsCancellationRequested && (!killed || Volatile.Read(ref afterKill) < 60); i++)
            {
                var path = $"/load/w{worker}-{i}";
                seq++;
                // Retry the same (client id, seq) on any live node until it is acknowledged.
                while (!stop.IsCancellationRequested)
                {
                    var node = cluster.Nodes.Where(n => n is not null).ElementAt(Random.Shared.Next(cluster.Nodes.Count(n => n is not null)))!;
                    using var request = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, "/v1/nodes" + path + "?parents=true")) { Content = new StringContent("x") };
                    request.Headers.Add("Mesh-Client-Id", id.ToString());
                    request.Headers.Add("Mesh-Request-Seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    try
                    {
                        using var response = await cluster.Http.SendAsync(request, stop.Token);
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                            acknowledged[path] = body.GetProperty("index").GetInt64();
                            if (killed)
                                Interlocked.Increment(ref afterKill);
                            break;
                        }
                        Assert.True(response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
                            $"unexpected {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                    catch (HttpRequestException)
                    {
                        // The node went away under us.
                    }
                    await Task.Delay(20, stop.Token);
                }
            }
        }

        var writers = Enumerable.Range(0, 4).Select(WriterAsync).ToArray();
        while (acknowledged.Count < 40 && !writers.Any(w => w.IsFaulted))
            await Task.Delay(10, stop.Token);
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.StopNodeAsync(leader.Id);
        killed = true;
        await Task.WhenAll(writers);

        Assert.True(afterKill >= 60, $"only {afterKill} writes after the leader was killed");
        var newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(leader.Id, newLeader.Id);
        await cluster.WaitAppliedAsync(acknowledged.Values.Max());
        foreach (var node in cluster.Nodes.Where(n => n is not null))
        {
            var children = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node!, "/v1/nodes/load?children=true&stale=true")), HttpStatusCode.OK);
            var names = children.GetProperty("children").EnumerateArray().Select(e => "/load/" + e.GetString()).ToHashSet();
            Assert.All(acknowledged.Keys, path => Assert.Contains(path, names));
        }
    }

    [Fact]
    public async Task FullRestart_FromSnapshotAndLog_KeepsEveryWrite()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 40 });
        var node = cluster.Nodes[0]!;
        var last = 0L;
        for (var i = 0; i < 100; i++)
        {
            var created = await cluster.JsonAsync(
                await cluster.Http.PostAsync(cluster.Url(node, $"/v1/nodes/keep/k{i}?parents=true"), new StringContent($"value{i}")), HttpStatusCode.Created);
            last = created.GetProperty("index").GetInt64();
        }
        await cluster.WaitAppliedAsync(last);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(cluster.OptionsOf(1).DataDirectory, "snapshots"), "*-*"));

        for (var id = 1; id <= 3; id++)
            await cluster.StopNodeAsync(id);
        await Task.WhenAll(Enumerable.Range(1, 3).Select(cluster.StartNodeAsync));
        await cluster.WaitForLeaderAsync();

        foreach (var restarted in cluster.Nodes)
        {
            for (var i = 0; i < 100; i += 9)
                Assert.Equal($"value{i}", await cluster.Http.GetStringAsync(cluster.Url(restarted!, $"/v1/nodes/keep/k{i}?raw=true&stale=true")));
        }
        // And the cluster takes writes again.
        await cluster.JsonAsync(await cluster.Http.PostAsync(cluster.Url(cluster.Follower(), "/v1/nodes/keep/after"), new StringContent("x")), HttpStatusCode.Created);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(37)]
    public async Task FollowerBehindTheLeadersSnapshot_CatchesUpFromIt_AndKeepsReplicating(int entriesPastPageStart)
    {
        // The log keeps 64 entry headers per 4 KiB metadata page. Where the follower's commit
        // index stops relative to a page start decides which of its pages exist when the
        // leader's snapshot replaces the gap; a page that was never written once stopped the
        // follower for good (DotNext flushed from its old commit index after the install). No tail
        // kept behind the snapshot, so on the registry's own log the follower is sent it too.
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 40, SnapshotKeep = 0 });
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var i = 0;
        var lastPath = "";
        async Task<long> WriteAsync()
        {
            var (path, index) = await cluster.CreateOnLeaderAsync($"/snap/k{i++}", "v");
            lastPath = path;
            return index;
        }

        var last = await WriteAsync();
        while ((last + 1 - entriesPastPageStart) % 64 != 0)
            last = await WriteAsync();
        await cluster.WaitAppliedAsync(last);
        using (var timeout = new CancellationTokenSource(TestCluster.Timeout))
        {
            while (follower.Consensus.CommitIndex < last)
                await Task.Delay(10, timeout.Token);
        }
        await cluster.StopNodeAsync(follower.Id);

        for (var n = 0; n < 150; n++)
            last = await WriteAsync();
        await cluster.StartNodeAsync(follower.Id);
        await cluster.WaitAppliedAsync(last);

        for (var n = 0; n < 20; n++)
            last = await WriteAsync();
        await cluster.WaitAppliedAsync(last);
        var restarted = cluster.Nodes[follower.Id - 1]!;
        Assert.Equal("v", await cluster.Http.GetStringAsync(cluster.Url(restarted, $"/v1/nodes{lastPath}?raw=true&stale=true")));
    }

    [Fact]
    public async Task Watch_ResumedOnAnotherNode_MissesAndRepeatsNothing()
    {
        await using var cluster = await TestCluster.StartAsync();
        var a = cluster.Nodes[0]!;
        var b = cluster.Nodes[1]!;
        var start = await cluster.JsonAsync(await cluster.Http.PostAsync(cluster.Url(a, "/v1/nodes/w"), new StringContent("")), HttpStatusCode.Created);
        var after = start.GetProperty("index").GetInt64();

        var watch = cluster.Http.GetAsync(cluster.Url(a, $"/v1/watch/w?after={after}&recursive=true&wait=10s"));
        var first = await cluster.JsonAsync(await cluster.Http.PostAsync(cluster.Url(b, "/v1/nodes/w/one"), new StringContent("1")), HttpStatusCode.Created);
        var seen = await cluster.JsonAsync(await watch, HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("index").GetInt64(), seen.GetProperty("index").GetInt64());
        Assert.Equal(["created /w/one", "childrenChanged /w"], Events(seen));

        var second = await cluster.JsonAsync(await cluster.Http.PutAsync(cluster.Url(a, "/v1/nodes/w/one"), new StringContent("2")), HttpStatusCode.OK);
        await cluster.JsonAsync(await cluster.Http.DeleteAsync(cluster.Url(a, "/v1/nodes/w/one")), HttpStatusCode.OK);
        // Resume on node c with the index node a gave us.
        var c = cluster.Nodes[2]!;
        var resumed = await cluster.JsonAsync(
            await cluster.Http.GetAsync(cluster.Url(c, $"/v1/watch/w?after={seen.GetProperty("index").GetInt64()}&recursive=true&wait=10s")), HttpStatusCode.OK);
        var events = Events(resumed);
        Assert.Equal("dataChanged /w/one", events[0]);
        Assert.Equal(second.GetProperty("index").GetInt64(), resumed.GetProperty("events")[0].GetProperty("index").GetInt64());
        if (events.Length == 1)
        {
            resumed = await cluster.JsonAsync(
                await cluster.Http.GetAsync(cluster.Url(c, $"/v1/watch/w?after={resumed.GetProperty("index").GetInt64()}&recursive=true&wait=10s")), HttpStatusCode.OK);
            events = [.. events, .. Events(resumed)];
        }
        Assert.Equal(["dataChanged /w/one", "deleted /w/one", "childrenChanged /w"], events);
    }

    [Fact]
    public async Task Session_KeptAliveThroughFollowers_SurvivesLeaderFailoverThenExpires()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        // A TTL with room for an election and the first renewals through the new leader on a loaded
        // machine (ZooKeeper's shortest session timeout is 4 s too).
        var session = await cluster.PostJsonAsync(follower, "/v1/sessions", new { ttlMs = 4000 }, HttpStatusCode.Created);
        var id = session.GetProperty("id").GetInt64();
        await cluster.JsonAsync(
            await cluster.Http.PostAsync(cluster.Url(follower, $"/v1/nodes/services/cat/instances/i1?mode=ephemeral&session={id}&parents=true"),
                new StringContent("""{"address":"10.0.0.1","port":80}""")), HttpStatusCode.Created);

        using var keepAlive = new CancellationTokenSource();
        var keeper = Task.Run(async () =>
        {
            while (!keepAlive.IsCancellationRequested)
            {
                try
                {
                    var node = cluster.Nodes.First(n => n is not null && n != leader)!;
                    using var response = await cluster.Http.PutAsync(cluster.Url(node, $"/v1/sessions/{id}/keepalive"), null, keepAlive.Token);
                    Assert.NotEqual(HttpStatusCode.NotFound, response.StatusCode);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                }
                await Task.Delay(300, CancellationToken.None);
            }
        });

        await Task.Delay(500);
        await cluster.StopNodeAsync(leader.Id);
        await cluster.WaitForLeaderAsync();
        await Task.Delay(5000); // longer than the TTL
        var survivor = cluster.Nodes.First(n => n is not null)!;
        var service = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(survivor, "/v1/services/cat")), HttpStatusCode.OK);
        Assert.Equal(1, service.GetProperty("instances").GetArrayLength());
        Assert.Equal("10.0.0.1", service.GetProperty("instances")[0].GetProperty("address").GetString());

        // Without keep-alives the session expires and the instance disappears, waking a blocking query.
        await keepAlive.CancelAsync();
        await keeper;
        var after = service.GetProperty("index").GetInt64();
        var changed = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(survivor, $"/v1/services/cat?after={after}&wait=10s")), HttpStatusCode.OK);
        Assert.Equal(0, changed.GetProperty("instances").GetArrayLength());
    }

    private static string[] Events(JsonElement watch) =>
        watch.GetProperty("events").EnumerateArray().Select(e => $"{e.GetProperty("type").GetString()} {e.GetProperty("path").GetString()}").ToArray();
}
