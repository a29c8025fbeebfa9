namespace Mesh.Reliability.Tests.Checks;

public sealed class WatchStreamCheckTests
{
    private static readonly HashSet<long> s_committed = [11, 12, 15, 20];

    private static WatchStream Stream(long after, long upTo, params long[] indexes) =>
        new("w", after, upTo, indexes.Select(i => new WatchEvent(i, $"/k/{i}", "dataChanged")).ToList());

    [Fact]
    public void CompleteOrderedStream_Passes() =>
        Assert.Empty(WatchStreamCheck.Check(Stream(10, 20, 11, 12, 15, 20), s_committed));

    [Fact]
    public void StreamResumedFromTheMiddle_CoversOnlyItsRange() =>
        Assert.Empty(WatchStreamCheck.Check(Stream(12, 15, 15), s_committed));

    [Fact]
    public void SeveralEventsAtOneIndex_AreNotDuplicates()
    {
        var stream = new WatchStream("w", 10, 11, [new(11, "/a/b", "created"), new(11, "/a", "childrenChanged")]);
        Assert.Empty(WatchStreamCheck.Check(stream, new HashSet<long> { 11 }));
    }

    [Fact]
    public void Gap_IsReported() =>
        Assert.Contains("gap", Assert.Single(WatchStreamCheck.Check(Stream(10, 20, 11, 15, 20), s_committed)).Message, StringComparison.Ordinal);

    [Fact]
    public void Duplicate_IsReported() =>
        Assert.Contains("twice", Assert.Single(WatchStreamCheck.Check(Stream(10, 20, 11, 12, 12, 15, 20), s_committed)).Message, StringComparison.Ordinal);

    [Fact]
    public void OutOfOrder_IsReported() =>
        Assert.Contains("out of order", Assert.Single(WatchStreamCheck.Check(Stream(10, 20, 11, 15, 12, 20), s_committed)).Message, StringComparison.Ordinal);

    [Fact]
    public void EventWithoutACommittedWrite_IsReported() =>
        Assert.Contains("no committed write", Assert.Single(WatchStreamCheck.Check(Stream(10, 20, 11, 12, 13, 15, 20), s_committed)).Message, StringComparison.Ordinal);

    [Fact]
    public void EventFromBeforeTheStart_IsReported() =>
        Assert.Contains("start index", Assert.Single(WatchStreamCheck.Check(Stream(12, 20, 12, 15, 20), s_committed)).Message, StringComparison.Ordinal);
}
