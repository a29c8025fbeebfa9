using Mesh.Sidecar.Core;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Sidecar.Tests.Telemetry;

public sealed class AccessLogQueueTests
{
    [Fact]
    public void TryAdd_UpToCapacity_ReportsHowManyWait()
    {
        var queue = new AccessLogQueue(capacity: 200);

        var counts = Enumerable.Range(0, 200).Select(i => queue.TryAdd(Entry(i))).ToList();

        Assert.Equal(Enumerable.Range(1, 200), counts);
    }

    [Fact]
    public void TryAdd_Full_RefusesAndKeepsWhatItHas()
    {
        var queue = new AccessLogQueue(capacity: 16);
        for (var i = 0; i < 16; i++)
            queue.TryAdd(Entry(i));

        Assert.Equal(0, queue.TryAdd(Entry(16)));

        Assert.Equal(Enumerable.Range(0, 16), Statuses(queue.TakeAll(out _)));
    }

    [Fact]
    public void TakeAll_AfterAdds_GivesThemInOrderAndEmptiesTheQueue()
    {
        var queue = new AccessLogQueue(capacity: 1000);
        for (var i = 0; i < 300; i++)
            queue.TryAdd(Entry(i));

        var batch = queue.TakeAll(out var closed);

        Assert.False(closed);
        Assert.Equal(Enumerable.Range(0, 300), Statuses(batch));
        queue.Return(batch);
        Assert.Equal(0, queue.TakeAll(out _).Count);
        // The next batch starts again at one.
        Assert.Equal(1, queue.TryAdd(Entry(0)));
    }

    [Fact]
    public void Return_WrittenBatch_LetsGoOfTheRequestsStrings()
    {
        var queue = new AccessLogQueue(capacity: 16);
        queue.TryAdd(Entry(1));
        var batch = queue.TakeAll(out _);

        queue.Return(batch);

        Assert.Null(batch.Array![0].Path);
    }

    [Fact]
    public void Close_LinesAlreadyIn_StayForTheLastBatchAndNewOnesAreRefused()
    {
        var queue = new AccessLogQueue(capacity: 16);
        queue.TryAdd(Entry(1));

        queue.Close();

        Assert.Equal(0, queue.TryAdd(Entry(2)));
        var batch = queue.TakeAll(out var closed);
        Assert.True(closed);
        Assert.Equal([1], Statuses(batch));
    }

    private static IEnumerable<int> Statuses(ArraySegment<AccessLogEntry> batch) => batch.Select(e => e.Status).ToList();

    private static AccessLogEntry Entry(int status) => new()
    {
        Time = DateTimeOffset.UnixEpoch,
        Direction = RequestDirection.Inbound,
        Method = "GET",
        Path = "/",
        Route = "r",
        Service = "s",
        Status = status,
        DurationMs = 1,
        Caller = "c",
    };
}
