using System.Collections.Concurrent;
using System.Text;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Discovery;

/// <summary>
/// What a config watch (routes, policies) costs the registry per change on a stream without the
/// data (an older registry, or a document over 4 KiB): the stream tells of the change, and the client reads the listing with every document in one request at the change's
/// index, instead of a listing plus one linearizable read per document. Requests are counted as the
/// registry nodes (in this process) record them in ASP.NET Core's <c>http.server.request.duration</c>.
/// </summary>
public sealed class ConfigWatchReadTests
{
    [Fact]
    public async Task WatchConfig_AChangeUnderAPrefixOfManyDocuments_IsReadWithOneRequest()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        // The stream without the documents' data (data=true applies a change without any read: StreamDataTests).
        using var client = ClusterClients.For(cluster, streamData: false);
        for (var i = 0; i < 8; i++)
            await client.CreateAsync($"{ServicePaths.RoutesRoot}/r{i}", Encoding.UTF8.GetBytes($"doc {i}"), createParents: true);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var snapshots = new ConcurrentQueue<ConfigSnapshot>();
        var watch = Task.Run(async () =>
        {
            await foreach (var snapshot in client.WatchConfigAsync(ServicePaths.RoutesRoot, stop.Token))
                snapshots.Enqueue(snapshot);
        });
        await Eventually.TrueAsync(() => snapshots.Count == 1, "the first snapshot never came");
        var first = snapshots.Single();
        Assert.Equal(8, first.Documents.Count);
        Assert.Equal("doc 3", Encoding.UTF8.GetString(first.Documents["r3"]));

        using var requests = new ServerRequests();

        await client.SetAsync($"{ServicePaths.RoutesRoot}/r5", "changed");
        await Eventually.TrueAsync(() => snapshots.Count == 2, "the change never reached the watch");

        var second = snapshots.Last();
        Assert.Equal("changed", Encoding.UTF8.GetString(second.Documents["r5"]));
        Assert.Equal(8, second.Documents.Count);
        Assert.True(second.Index > first.Index);
        // One read of the eight documents (a linearizable read forwarded by a follower would count twice).
        Assert.Single(requests.To("nodes"), r => r.StartsWith("GET ", StringComparison.Ordinal));
        await Task.Delay(500);
        Assert.Equal(2, snapshots.Count);
        await stop.CancelAsync();
        await watch.ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
