using System.Text;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Sessions;

/// <summary>What clients see when registry nodes die: nothing lost, nothing expired that was alive.</summary>
public sealed class FailoverTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task LeaderFailover_DoesNotExpireAHealthySession_NorDropItsInstance()
    {
        using var client = ClusterClients.For(_cluster);
        await using var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(3));
        var states = new List<SessionState>();
        session.StateChanged += change => { lock (states) states.Add(change.State); };
        await using var registration = await ServiceRegistration.RegisterAsync(session, "catalog", ClusterClients.Instance("c1", 8081));
        var sessionId = session.Id;

        var leader = await _cluster.WaitForLeaderAsync();
        await _cluster.StopNodeAsync(leader.Id);
        await _cluster.WaitForLeaderAsync();
        await Task.Delay(TimeSpan.FromSeconds(5)); // longer than the TTL

        Assert.Equal(sessionId, session.Id);
        lock (states)
            Assert.DoesNotContain(SessionState.Expired, states);
        var instance = Assert.Single((await client.GetServiceAsync("catalog")).Instances);
        Assert.Equal("c1", instance.Id);
        Assert.Equal(sessionId, (await client.GetAsync(registration.Path)).Stat.EphemeralOwner);
    }

    [Fact]
    public async Task WatcherThatLosesItsNode_ResumesOnAnother_SeeingEveryChangeExactlyOnce()
    {
        var follower = _cluster.Follower();
        var others = _cluster.Nodes.Where(n => n is not null && n != follower).Select(n => n!).ToList();
        // The watcher starts on the follower; its other addresses are where it fails over to.
        using var watcherClient = ClusterClients.For([follower, .. others]);
        using var writer = ClusterClients.For(others);
        await writer.CreateAsync("/stream", [], createParents: true);
        var start = await writer.CurrentIndexAsync("/stream");

        const int Writes = 40;
        var collect = ClusterClients.CollectUntilAsync(
            watcherClient.WatchAsync("/stream", start),
            seen => seen.Count(e => e.Type == ChangeEvent.Created) == Writes, TimeSpan.FromSeconds(60));
        for (var i = 0; i < Writes; i++)
        {
            await writer.CreateAsync($"/stream/item-{i:D3}", Encoding.UTF8.GetBytes(i.ToString()));
            if (i == Writes / 2)
                await _cluster.StopNodeAsync(follower.Id); // the node the watcher talks to dies mid-stream
        }

        var events = await collect;
        var created = events.Where(e => e.Type == ChangeEvent.Created).Select(e => e.Path).ToList();
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => $"/stream/item-{i:D3}"), created);
        Assert.Equal(events.Select(e => e.Index).Order(), events.Select(e => e.Index));
        Assert.Equal(events.Count, events.Distinct().Count());
    }

    [Fact]
    public async Task Client_SkipsADeadAddress_AndReportsAllDeadClearly()
    {
        using var refusing = new RefusingPort();
        var dead = new Uri($"http://127.0.0.1:{refusing.Port}/");
        using var client = new RegistryClient(new RegistryClientOptions
        {
            Endpoints = [dead, _cluster.Nodes[0]!.ClientUrl],
            RequestTimeout = TimeSpan.FromSeconds(5),
        });
        await client.CreateAsync("/failover-ok", "x"u8.ToArray());
        Assert.Equal("x"u8.ToArray(), (await client.GetAsync("/failover-ok")).Data);

        using var nobody = new RegistryClient(new RegistryClientOptions { Endpoints = [dead], RequestTimeout = TimeSpan.FromSeconds(1) });
        var error = await Assert.ThrowsAsync<RegistryUnavailableException>(() => nobody.GetAsync("/failover-ok"));
        Assert.Contains(dead.Authority, error.Message);
    }

    [Fact]
    public async Task ExpiredSession_IsReplaced_AndItsRegistrationComesBack()
    {
        using var client = ClusterClients.For(_cluster);
        await using var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(2));
        await using var registration = await ServiceRegistration.RegisterAsync(session, "inventory", ClusterClients.Instance("i1", 9001));
        var firstId = session.Id;
        var renewed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.StateChanged += change =>
        {
            if (change.State == SessionState.Connected && change.SessionId != firstId)
                renewed.TrySetResult(change.SessionId);
        };

        // The registry ends the session behind the client's back (as expiry after a long pause would).
        using (var http = new HttpClient())
            (await http.DeleteAsync(new Uri(_cluster.Nodes[0]!.ClientUrl, $"v1/sessions/{firstId}"))).EnsureSuccessStatusCode();

        var newId = await renewed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.NotEqual(firstId, newId);
        var node = await client.GetAsync(registration.Path);
        Assert.Equal(newId, node.Stat.EphemeralOwner);
    }
}
