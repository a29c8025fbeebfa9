using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Watches;

/// <summary>A subscription of a <c>data=true</c> stream, fed by hand (no stream is opened).</summary>
public sealed class SubscriptionTests : IDisposable
{
    private readonly RegistryClient _client = new("http://127.0.0.1:1");
    private readonly RegistryWatcher _watcher;

    public SubscriptionTests() => _watcher = new RegistryWatcher(_client);

    public void Dispose()
    {
        _watcher.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task NextChange_WholeRecords_AreHandedOutOnlyOnceTheirIndexIsComplete()
    {
        using var subscription = Subscribe();

        var next = subscription.NextChangeAsync(5, CancellationToken.None);
        subscription.Complete(6);
        subscription.Deliver(Created(7, "/b"));
        subscription.Deliver(Created(8, "/a/x"));
        // Time for a wrong hand-out to show, not a latency bound.
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(300)));
        subscription.Complete(8);

        var change = await next.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(8, change.At);
        Assert.Equal("/a/x", Assert.Single(change.Records!).Path);
    }

    [Fact]
    public async Task NextChange_AfterAReconnect_SkipsTheHalfDeliveredIndexsRecordsItHad_AndReadsForARecordWithoutData()
    {
        using var subscription = Subscribe();
        subscription.Deliver(Created(6, "/a/x"));

        // The stream broke inside index 6; the next one sends all of it again.
        subscription.Reconnected(withData: true);
        subscription.Deliver(Created(6, "/a/x"));
        subscription.Deliver(Created(6, "/a/y"));
        subscription.Complete(6);
        var change = await subscription.NextChangeAsync(5, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["/a/x", "/a/y"], change.Records!.Select(r => r.Path));

        subscription.Deliver(new WatchStreamRecord(ChangeEvent.DataChanged, 7, "/a/big"));
        var read = await subscription.NextChangeAsync(6, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new StreamChange(7, null), read);
    }

    /// <summary>A watch of /a from index 5, carried by a <c>data=true</c> stream.</summary>
    private RegistryWatcher.Subscription Subscribe()
    {
        var subscription = new RegistryWatcher.Subscription(_watcher, StreamWatch.Prefix("/a"), 5);
        subscription.Reconnected(withData: true);
        return subscription;
    }

    private static WatchStreamRecord Created(long index, string path) => new(ChangeEvent.Created, index, path, Data: "v"u8.ToArray());
}
