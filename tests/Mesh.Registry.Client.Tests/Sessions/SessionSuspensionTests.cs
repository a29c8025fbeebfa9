namespace Mesh.Registry.Client.Tests.Sessions;

/// <summary>
/// A session whose client loses every registry node it knows: the client talks only to one
/// follower, which is stopped (the rest of the cluster, and its leader's session clock, go on).
/// </summary>
public sealed class SessionSuspensionTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>Every state change of a session, in order, with a way to wait for one.</summary>
    private sealed class StateLog
    {
        private readonly List<SessionStateChange> _changes = [];

        public StateLog(RegistrySession session) => session.StateChanged += change =>
        {
            lock (_changes)
                _changes.Add(change);
        };

        public List<SessionStateChange> Changes
        {
            get
            {
                lock (_changes)
                    return [.. _changes];
            }
        }

        public async Task<SessionStateChange> WaitForAsync(Func<SessionStateChange, bool> match, TimeSpan timeout, string what)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                if (Changes.FirstOrDefault(match) is { } change)
                    return change;
                try
                {
                    await Task.Delay(50, cts.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"no {what} within {timeout.TotalSeconds} s; states: {string.Join(", ", Changes.Select(c => $"{c.State}({c.SessionId}: {c.Reason})"))}");
                }
            }
        }
    }

    [Fact]
    public async Task NodesUnreachableForLessThanTheTtl_Suspended_ThenConnectedWithTheSameSessionAndInstance()
    {
        var ttl = TimeSpan.FromSeconds(12);
        var follower = _cluster.Follower();
        using var client = ClusterClients.For(_cluster, follower.Id);
        using var observer = ClusterClients.For(_cluster.Nodes.Where(n => n != follower).Select(n => n!));
        await using var session = await RegistrySession.OpenAsync(client, ttl);
        var log = new StateLog(session);
        await using var registration = await ServiceRegistration.RegisterAsync(session, "catalog", ClusterClients.Instance("c1", 8081));
        var sessionId = session.Id;

        await _cluster.StopNodeAsync(follower.Id);
        // A keep-alive is due within a third of the TTL and may take another third: Suspended
        // is reported while the session is still alive on the registry.
        await log.WaitForAsync(c => c.State == SessionState.Suspended, ttl, "Suspended");
        Assert.Equal(SessionState.Suspended, session.State);
        await _cluster.StartNodeAsync(follower.Id);

        var back = await log.WaitForAsync(c => c.State == SessionState.Connected, ttl, "Connected");
        Assert.Equal(sessionId, back.SessionId);
        Assert.Equal(sessionId, session.Id);
        Assert.Equal([SessionState.Suspended, SessionState.Connected], log.Changes.Select(c => c.State));
        Assert.Equal("c1", Assert.Single((await observer.GetServiceAsync("catalog")).Instances).Id);
        Assert.Equal(sessionId, (await observer.GetAsync(registration.Path)).Stat.EphemeralOwner);
    }

    [Fact]
    public async Task NodesUnreachableForLongerThanTheTtl_SuspendedThenExpired_ThenANewSessionReRegisters()
    {
        var ttl = TimeSpan.FromSeconds(3);
        var follower = _cluster.Follower();
        using var client = ClusterClients.For(_cluster, follower.Id);
        using var observer = ClusterClients.For(_cluster.Nodes.Where(n => n != follower).Select(n => n!));
        await using var session = await RegistrySession.OpenAsync(client, ttl);
        var log = new StateLog(session);
        await using var registration = await ServiceRegistration.RegisterAsync(session, "inventory", ClusterClients.Instance("i1", 9001));
        var firstId = session.Id;

        await _cluster.StopNodeAsync(follower.Id);
        await log.WaitForAsync(c => c.State == SessionState.Suspended, 2 * ttl, "Suspended");

        // The rest of the cluster expires the session after its TTL: the instance goes.
        var gone = await ClusterClients.CollectUntilAsync(
            observer.WatchServiceAsync("inventory"), seen => seen[^1].Instances.IsEmpty, TimeSpan.FromSeconds(20));
        Assert.Empty(gone[^1].Instances);
        Assert.Equal([SessionState.Suspended], log.Changes.Select(c => c.State));

        await _cluster.StartNodeAsync(follower.Id);
        var renewed = await log.WaitForAsync(c => c.State == SessionState.Connected, TimeSpan.FromSeconds(20), "Connected");

        Assert.NotEqual(firstId, renewed.SessionId);
        Assert.Equal(renewed.SessionId, session.Id);
        Assert.Equal([SessionState.Suspended, SessionState.Expired, SessionState.Connected], log.Changes.Select(c => c.State));
        Assert.Equal(firstId, log.Changes[1].SessionId);
        var back = await ClusterClients.CollectUntilAsync(
            observer.WatchServiceAsync("inventory"), seen => !seen[^1].Instances.IsEmpty, TimeSpan.FromSeconds(10));
        Assert.Equal("i1", Assert.Single(back[^1].Instances).Id);
        Assert.Equal(renewed.SessionId, (await observer.GetAsync(registration.Path)).Stat.EphemeralOwner);
    }
}
