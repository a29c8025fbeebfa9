using System.Text;

namespace Mesh.Registry.Client.Tests.Discovery;

/// <summary>
/// Service and config watchers whose registry node dies mid-stream: they go on from another node,
/// from the last index they saw, and end on the real state.
/// </summary>
public sealed class WatchFailoverTests : IAsyncLifetime
{
    private const int Writes = 20;

    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ServiceWatcherThatLosesItsNode_KeepsStreaming_EverySnapshotExact_EndingOnTheRealSet()
    {
        var follower = _cluster.Follower();
        var others = _cluster.Nodes.Where(n => n is not null && n != follower).Select(n => n!).ToList();
        // The watcher starts on the follower; its other addresses are where it fails over to.
        using var watcherClient = ClusterClients.For([follower, .. others]);
        using var writer = ClusterClients.For(others);
        await using var session = await RegistrySession.OpenAsync(writer, TimeSpan.FromSeconds(30));
        var registrations = new List<ServiceRegistration>();
        // When each instance was created and (for one) deleted, by registry index.
        var created = new Dictionary<string, long>();
        var deleted = new Dictionary<string, long>();
        // o00 is deregistered during the failover; the rest stay.
        var finalSet = Enumerable.Range(1, Writes - 1).Select(i => $"o{i:D2}").ToHashSet();

        var watch = watcherClient.WatchServiceAsync("orders").GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync());
        var snapshots = new List<EndpointSet> { watch.Current };
        Assert.Empty(watch.Current.Instances);
        var collect = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (!snapshots[^1].Instances.Select(i => i.Id).ToHashSet().SetEquals(finalSet))
            {
                Assert.True(await watch.MoveNextAsync().AsTask().WaitAsync(timeout.Token));
                snapshots.Add(watch.Current);
            }
        });

        for (var i = 0; i < Writes; i++)
        {
            var registration = await ServiceRegistration.RegisterAsync(session, "orders", ClusterClients.Instance($"o{i:D2}", 9000 + i));
            registrations.Add(registration);
            created[registration.Instance.Id] = (await writer.GetAsync(registration.Path)).Stat.CreatedIndex;
            if (i == Writes / 2)
                await _cluster.StopNodeAsync(follower.Id); // the node the watcher talks to dies mid-stream
            if (i == Writes / 2 + 2)
                deleted["o00"] = await writer.DeleteAsync(registrations[0].Path); // a deregistration during the failover
        }

        await collect;
        await watch.DisposeAsync();

        // Indexes only go forward, and every snapshot is exactly the instance set at its index.
        Assert.Equal(snapshots.Select(s => s.Index).Order(), snapshots.Select(s => s.Index));
        Assert.Equal(snapshots.Count, snapshots.Select(s => s.Index).Distinct().Count());
        foreach (var snapshot in snapshots)
        {
            var atIndex = created.Where(c => c.Value <= snapshot.Index && !(deleted.TryGetValue(c.Key, out var d) && d <= snapshot.Index))
                .Select(c => c.Key).Order(StringComparer.Ordinal);
            Assert.Equal(atIndex, snapshot.Instances.Select(i => i.Id));
        }

        // Every registration from the failure on is in a later snapshot; the last one is the real set.
        foreach (var id in created.Keys.Where(id => string.CompareOrdinal(id, $"o{Writes / 2:D2}") >= 0))
            Assert.Contains(snapshots, s => s.Index >= created[id] && s.Instances.Any(i => i.Id == id));
        var real = await writer.GetServiceAsync("orders");
        Assert.True(real.SameInstancesAs(snapshots[^1]), $"last snapshot {string.Join(",", snapshots[^1].Instances.Select(i => i.Id))} vs real {string.Join(",", real.Instances.Select(i => i.Id))}");
        foreach (var registration in registrations)
            await registration.DisposeAsync();
    }

    [Fact]
    public async Task ConfigWatcherThatLosesItsNode_KeepsStreaming_IndexesNeverGoBack_EndingOnTheRealDocuments()
    {
        var follower = _cluster.Follower();
        var others = _cluster.Nodes.Where(n => n is not null && n != follower).Select(n => n!).ToList();
        using var watcherClient = ClusterClients.For([follower, .. others]);
        using var writer = ClusterClients.For(others);
        const string Prefix = "/config/routes";
        var last = $"v{Writes - 1}";

        var collect = ClusterClients.CollectUntilAsync(
            watcherClient.WatchConfigAsync(Prefix),
            seen => seen[^1].Documents.Count == Writes && Encoding.UTF8.GetString(seen[^1].Documents["r00"]) == last,
            TimeSpan.FromSeconds(90));
        for (var i = 0; i < Writes; i++)
        {
            // A new document each step, and (from the failure on) a new version of the first one.
            await writer.CreateAsync($"{Prefix}/r{i:D2}", Encoding.UTF8.GetBytes($"v{i}"), createParents: true);
            if (i == Writes / 2)
                await _cluster.StopNodeAsync(follower.Id);
            if (i >= Writes / 2)
                await writer.SetAsync($"{Prefix}/r00", $"v{i}");
        }

        var snapshots = await collect;
        Assert.True(snapshots.Count >= 2, $"{snapshots.Count} snapshot(s)");
        // Never back: indexes, the set of documents (none is deleted), the first document's version.
        Assert.Equal(snapshots.Select(s => s.Index).Order(), snapshots.Select(s => s.Index));
        for (var k = 1; k < snapshots.Count; k++)
        {
            Assert.Superset(snapshots[k - 1].Documents.Keys.ToHashSet(), snapshots[k].Documents.Keys.ToHashSet());
            if (snapshots[k - 1].Documents.TryGetValue("r00", out var before))
                Assert.True(Version(snapshots[k].Documents["r00"]) >= Version(before));
        }

        // The last snapshot is exactly what the registry holds.
        var final = snapshots[^1];
        var names = (await writer.GetChildrenAsync(Prefix)).Children;
        Assert.Equal(names, final.Documents.Keys);
        foreach (var name in names)
            Assert.Equal((await writer.GetAsync($"{Prefix}/{name}")).Data, final.Documents[name]);
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => $"r{i:D2}"), final.Documents.Keys);

        static int Version(byte[] data) => int.Parse(Encoding.UTF8.GetString(data)[1..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
