using System.Text;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Watches;

/// <summary>The client's streaming watch against real nodes: resumed across failures with nothing missed or repeated.</summary>
public sealed class StreamWatchTests
{
    private const int Writes = 40;

    [Fact]
    public async Task StreamWatch_NodeWithItsWatchersStopped_WatchersResumeOnOtherNodes_EveryChangeOnceInOrder()
    {
        const int Watchers = 30;
        await using var cluster = await TestCluster.StartAsync(3);
        var follower = cluster.Follower();
        var others = cluster.Nodes.Where(n => n is not null && n != follower).Select(n => n!).ToList();
        using var writer = ClusterClients.For(others);
        var start = (await writer.CreateAsync("/orders", [])).Index;
        await cluster.WaitAppliedAsync(start);
        // Every watcher starts on the follower; the others are where it goes when the follower dies.
        var clients = Enumerable.Range(0, Watchers).Select(_ => ClusterClients.For([follower, .. others])).ToList();
        var expected = new List<(long, string)>();
        var done = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var watching = clients.Select(client => Task.Run(async () =>
        {
            var seen = new List<(long, string)>();
            await foreach (var record in client.StreamWatchAsync([StreamWatch.Prefix("/orders")], start, done.Token))
            {
                if (record.Type == ChangeEvent.Created)
                    seen.Add((record.Index, record.Path!));
                if (seen.Count == Writes)
                    break;
            }
            return seen;
        })).ToList();
        await Eventually.TrueAsync(() => follower.Store.Hub.Fanout.Streams == Watchers, "the watchers never all streamed from the follower");

        for (var i = 0; i < Writes; i++)
        {
            var path = $"/orders/o{i:D2}";
            expected.Add(((await writer.CreateAsync(path, Encoding.UTF8.GetBytes("x"))).Index, path));
            if (i == Writes / 2)
                await cluster.StopNodeAsync(follower.Id);
        }

        var results = await Task.WhenAll(watching);
        Assert.All(results, seen => Assert.Equal(expected, seen));
        Assert.Equal(Watchers, others.Sum(n => n.Store.Hub.Fanout.Streams) + (Watchers - results.Length));
        foreach (var client in clients)
            client.Dispose();
    }

    [Fact]
    public async Task StreamWatch_MoreWatchesThanAUrlHolds_GoInABody_AndStream()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        using var client = ClusterClients.For(cluster);
        var start = (await client.CreateAsync("/many", [])).Index;
        // 300 watches of ~45 bytes: past the 8 KiB a request line may hold, so the client must POST them.
        var watches = Enumerable.Range(0, 300).Select(i => StreamWatch.Prefix($"/many/a-rather-long-name-number-{i:D3}")).ToList();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var first = Task.Run(async () =>
        {
            await foreach (var record in client.StreamWatchAsync(watches, start, done.Token))
            {
                if (record.IsChange)
                    return record;
            }
            return null;
        });

        var index = (await client.CreateAsync(watches[299].Path, [])).Index;

        Assert.Equal(new WatchStreamRecord(ChangeEvent.Created, index, watches[299].Path), await first);
    }

    [Fact]
    public async Task StreamWatch_AfterOlderThanEveryNodesHistory_ThrowsIndexCompacted()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { WatchHistory = 4 });
        using var client = ClusterClients.For(cluster);
        for (var i = 0; i < 8; i++)
            await client.CreateAsync($"/h{i}", []);

        var error = await Assert.ThrowsAsync<RegistryException>(async () =>
        {
            await foreach (var _ in client.StreamWatchAsync([StreamWatch.Prefix("/")], 1))
            {
            }
        });
        Assert.Equal(RegistryErrorCodes.IndexCompacted, error.Code);
    }

    [Fact]
    public async Task StreamWatch_MoreWatchesThanTheNodeAllows_ThrowsTooManyWatches()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { Limits = o.Limits with { MaxWatchesPerStream = 2 } });
        using var client = ClusterClients.For(cluster);

        var error = await Assert.ThrowsAsync<RegistryException>(async () =>
        {
            await foreach (var _ in client.StreamWatchAsync([StreamWatch.Prefix("/a"), StreamWatch.Node("/b"), StreamWatch.TrustBundle], 0))
            {
            }
        });
        Assert.Equal(RegistryErrorCodes.TooManyWatches, error.Code);
        Assert.Contains("at most 2", error.Message);
    }

    [Fact]
    public async Task RegistryWatches_ServicesRoutesPoliciesAndTrust_ShareOneStreamPerClient()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        using var client = ClusterClients.For(cluster);
        await using var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(30));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var services = Enumerable.Range(0, 5).Select(i => $"svc{i}").ToList();
        var latest = new System.Collections.Concurrent.ConcurrentDictionary<string, EndpointSet>();
        var watches = services.Select(s => Task.Run(async () =>
        {
            await foreach (var set in client.WatchServiceAsync(s, stop.Token))
                latest[s] = set;
        })).ToList();
        var routes = new List<ConfigSnapshot>();
        watches.Add(Task.Run(async () =>
        {
            await foreach (var snapshot in client.WatchConfigAsync(ServicePaths.RoutesRoot, stop.Token))
                lock (routes)
                    routes.Add(snapshot);
        }));
        var bundles = 0;
        watches.Add(Task.Run(async () =>
        {
            await foreach (var _ in client.WatchTrustBundleAsync(stop.Token))
                Interlocked.Increment(ref bundles);
        }));
        await Eventually.TrueAsync(() => latest.Count == services.Count && routes.Count > 0 && bundles > 0, "the first snapshots never came");

        await using var registration = await ServiceRegistration.RegisterAsync(session, "svc3", ClusterClients.Instance("a", 9000));
        await client.CreateAsync($"{ServicePaths.RoutesRoot}/r1", Encoding.UTF8.GetBytes("doc"), createParents: true);

        await Eventually.TrueAsync(() => latest["svc3"].Instances.Any(i => i.Id == "a"), "the registration never reached the service watch");
        await Eventually.TrueAsync(() => { lock (routes) return routes[^1].Documents.ContainsKey("r1"); }, "the route never reached the config watch");
        // One stream on the whole cluster carries all seven watches. Each new watch reopened it;
        // a node notices a stream its client left only when the request's end reaches it, so the
        // ones left behind may take a moment to go on a loaded machine.
        await Eventually.TrueAsync(() => cluster.Nodes.Sum(n => n?.Store.Hub.Fanout.Streams ?? 0) == 1,
            "the cluster does not hold exactly one stream for the client");
        Assert.All(services.Where(s => s != "svc3"), s => Assert.Empty(latest[s].Instances));
        await stop.CancelAsync();
        await Task.WhenAll(watches.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default)));
    }
}
