using Mesh.Registry.Core.Events;
using Mesh.Registry.Watches;

namespace Mesh.Registry.Tests.Watches;

public sealed class WatchHubTests
{
    [Fact]
    public async Task WaitAsync_ManyWaiters_AllWokenByOneBatch()
    {
        var hub = new WatchHub();
        var waiters = Enumerable.Range(0, 100)
            .Select(_ => hub.WaitAsync("/a", recursive: true, after: 0, TimeSpan.FromSeconds(10), CancellationToken.None))
            .ToArray();
        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/b")]);
        hub.Publish(2, [new ChangeEvent(2, ChangeEventType.Created, "/a/x")]);

        var results = await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(results, r => Assert.Equal(2, Assert.Single(r.Events).Index));
    }

    [Fact]
    public async Task WaitAsync_NothingHappens_ReturnsEmptyWithAppliedIndex()
    {
        var hub = new WatchHub();
        hub.Publish(5, []);
        var result = await hub.WaitAsync("/a", false, 0, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        Assert.Empty(result.Events);
        Assert.Equal(5, result.Index);
    }

    [Fact]
    public void Read_AfterOlderThanHistory_ThrowsIndexCompacted()
    {
        var hub = new WatchHub(capacity: 2);
        for (var i = 1; i <= 4; i++)
            hub.Publish(i, [new ChangeEvent(i, ChangeEventType.DataChanged, "/a")]);

        Assert.Throws<IndexCompactedException>(() => hub.Read("/a", false, 1));
        Assert.Equal([3L, 4L], hub.Read("/a", false, 2).Events.Select(e => e.Index));
    }

    [Theory]
    [InlineData("/a", "/a", false, true)]
    [InlineData("/a/b", "/a", false, false)]
    [InlineData("/a/b", "/a", true, true)]
    [InlineData("/ab", "/a", true, false)]
    [InlineData("/x", "/", true, true)]
    public void Matches_PathAndRecursion(string eventPath, string path, bool recursive, bool expected) =>
        Assert.Equal(expected, WatchHub.Matches(eventPath, path, recursive));
}
