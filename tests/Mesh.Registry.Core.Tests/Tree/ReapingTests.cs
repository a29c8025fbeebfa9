using System.Diagnostics;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using Xunit.Abstractions;

namespace Mesh.Registry.Core.Tests.Tree;

/// <summary>
/// Container and TTL nodes: what the leader finds due (ZooKeeper 3.8's ContainerManager rules) and
/// how ReapNodes deletes only what is still unchanged and empty.
/// </summary>
public sealed class ReapingTests(ITestOutputHelper output)
{
    [Fact]
    public void FindReapable_ContainerThatHadAChildAndHasNoneLeft_IsDue()
    {
        var r = new Registry();
        Container(r, "/box");
        r.Create("/box/x");
        Assert.Empty(Due(r));

        r.Delete("/box/x");

        var due = Assert.Single(Due(r));
        Assert.Equal(new ReapCandidate("/box", r.Machine.Exists("/box").Stat.CreatedIndex, 0, 2), due);
    }

    [Fact]
    public void FindReapable_ContainerThatNeverHadAChild_IsDueOnlyAfterMaxNeverUsed()
    {
        var r = new Registry();
        Container(r, "/box");
        var created = r.Time;

        Assert.Empty(r.Machine.FindReapable(created + 1_000_000, null, 100, 100).Due);
        Assert.Empty(r.Machine.FindReapable(created + 5_000, null, 100, 100, maxNeverUsedMs: 5_000).Due);
        Assert.Single(r.Machine.FindReapable(created + 5_001, null, 100, 100, maxNeverUsedMs: 5_000).Due);
    }

    [Fact]
    public void FindReapable_TtlNode_IsDueOnceEmptyAndItsLastDataChangeIsOlderThanItsTtl()
    {
        var r = new Registry();
        Ttl(r, "/t", 1_000);
        r.Time += 600;
        r.Set("/t", "renewed");
        var modified = r.Time;

        Assert.Empty(r.Machine.FindReapable(modified + 1_000, null, 100, 100).Due);
        Assert.Single(r.Machine.FindReapable(modified + 1_001, null, 100, 100).Due);

        r.Create("/t/child");
        Assert.Empty(r.Machine.FindReapable(modified + 10_000, null, 100, 100).Due);
    }

    [Fact]
    public void FindReapable_PlainAndEphemeralNodes_AreNeverDue()
    {
        var r = new Registry();
        var session = r.OpenSession();
        r.Create("/p/c", parents: true);
        r.Delete("/p/c");
        r.Create("/e", mode: CreateMode.Ephemeral, session: session);

        Assert.Equal(0, r.Machine.ReapableCount);
        Assert.Empty(r.Machine.FindReapable(long.MaxValue / 2, null, 100, 100, 1).Due);
    }

    [Fact]
    public void Apply_ReapNodes_DeletesTheDueNodes_WithTheEventsOfADelete()
    {
        var r = new Registry();
        Container(r, "/box");
        r.Create("/box/x");
        r.Delete("/box/x");

        var result = r.Apply(new ReapNodes(r.Header(), Due(r)));

        Assert.Equal(ErrorCode.Ok, Assert.Single(result.OpResults).Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/box").Error);
        Assert.Equal(
            [new ChangeEvent(r.Index, ChangeEventType.Deleted, "/box"), new ChangeEvent(r.Index, ChangeEventType.ChildrenChanged, "/")],
            result.Events);
        Assert.Equal(0, r.Machine.ReapableCount);
    }

    [Fact]
    public void Apply_ReapNodes_NodeThatGotAChildMeanwhile_IsKept()
    {
        var (r, due) = EmptiedContainerSeenDue();
        r.Create("/box/y");

        var result = r.Apply(new ReapNodes(r.Header(), due));

        Assert.Equal(ErrorCode.BadVersion, Assert.Single(result.OpResults).Error);
        Assert.True(r.Machine.Exists("/box/y").IsOk);
        Assert.Empty(result.Events);
    }

    [Fact]
    public void Apply_ReapNodes_NodeWhoseChildCameAndWentMeanwhile_IsKeptUntilTheNextPass()
    {
        var (r, due) = EmptiedContainerSeenDue();
        r.Create("/box/y");
        r.Delete("/box/y");

        Assert.Equal(ErrorCode.BadVersion, r.Apply(new ReapNodes(r.Header(), due)).OpResults[0].Error);
        Assert.Equal(ErrorCode.Ok, r.Apply(new ReapNodes(r.Header(), Due(r))).OpResults[0].Error);
    }

    [Fact]
    public void Apply_ReapNodes_TtlNodeSetMeanwhile_IsKept()
    {
        var r = new Registry();
        Ttl(r, "/t", 10);
        r.Time += 100;
        var due = Due(r);
        r.Set("/t", "again");

        Assert.Equal(ErrorCode.BadVersion, r.Apply(new ReapNodes(r.Header(), due)).OpResults[0].Error);
        Assert.True(r.Machine.Exists("/t").IsOk);
    }

    [Fact]
    public void Apply_ReapNodes_NodeDeletedAndMadeAgainMeanwhile_IsKept()
    {
        var r = new Registry();
        Ttl(r, "/t", 10);
        r.Time += 100;
        var due = Due(r);
        r.Delete("/t");
        Ttl(r, "/t", 10);

        Assert.Equal(ErrorCode.NoNode, r.Apply(new ReapNodes(r.Header(), due)).OpResults[0].Error);
        Assert.True(r.Machine.Exists("/t").IsOk);
    }

    [Fact]
    public void Apply_ReapNodes_NamingAPlainNode_LeavesIt()
    {
        var r = new Registry();
        r.Create("/plain");
        var stat = r.Machine.Exists("/plain").Stat;

        var result = r.Apply(new ReapNodes(r.Header(), [new ReapCandidate("/plain", stat.CreatedIndex, 0, 0), new ReapCandidate("/", 0, 0, 0), new ReapCandidate("bad", 0, 0, 0)]));

        Assert.All(result.OpResults, o => Assert.Equal(ErrorCode.NoNode, o.Error));
        Assert.True(r.Machine.Exists("/plain").IsOk);
    }

    [Theory]
    [InlineData(CreateMode.PersistentWithTtl, 0)]
    [InlineData(CreateMode.PersistentWithTtl, -1)]
    [InlineData(CreateMode.PersistentSequentialWithTtl, NodeReaping.MaxTtlMs + 1)]
    [InlineData(CreateMode.Persistent, 5)]
    [InlineData(CreateMode.Container, 5)]
    [InlineData(CreateMode.Ephemeral, 5)]
    [InlineData((CreateMode)7, 0)]
    public void Apply_CreateWithATtlThatDoesNotFitItsMode_IsBadArguments(CreateMode mode, long ttl)
    {
        var r = new Registry();
        var session = r.OpenSession();

        var result = r.Apply(new CreateNode(r.Header(), "/t", default, mode, session, TtlMs: ttl));

        Assert.Equal(ErrorCode.BadArguments, result.Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/t").Error);
    }

    [Fact]
    public void Apply_CreateTtlAndContainer_StatShowsTheKindAndTtl_AndNoEphemeralOwner()
    {
        var r = new Registry();

        var ttl = r.Apply(new CreateNode(r.Header(), "/q/n-", default, CreateMode.PersistentSequentialWithTtl, CreateParents: true, TtlMs: NodeReaping.MaxTtlMs));
        var box = r.Apply(new CreateNode(r.Header(), "/box", default, CreateMode.Container));

        Assert.Equal("/q/n-0000000000", ttl.Path);
        Assert.Equal((NodeKind.Ttl, NodeReaping.MaxTtlMs, 0L), (ttl.Stat.Kind, ttl.Stat.TtlMs, ttl.Stat.EphemeralOwner));
        Assert.Equal((NodeKind.Container, 0L, 0L), (box.Stat.Kind, box.Stat.TtlMs, box.Stat.EphemeralOwner));
        Assert.Equal(NodeKind.Plain, r.Machine.Exists("/q").Stat.Kind);
        Assert.Equal(2, r.Machine.ReapableCount);
    }

    [Fact]
    public void Apply_FailedTransactionThatCreatedAContainer_LeavesNothingToReap()
    {
        var r = new Registry();

        var result = r.Apply(new Transaction(r.Header(), [new CreateOp("/box", default, CreateMode.Container), new DeleteOp("/missing")]));

        Assert.Equal(ErrorCode.NoNode, result.Error);
        Assert.Equal(0, r.Machine.ReapableCount);
    }

    [Fact]
    public void Apply_TransactionThatDeletesAndRollsBack_KeepsTheContainerReapable()
    {
        var r = new Registry();
        Container(r, "/box");

        r.Apply(new Transaction(r.Header(), [new DeleteOp("/box"), new DeleteOp("/missing")]));

        Assert.Equal(1, r.Machine.ReapableCount);
        r.Create("/box/x");
        r.Delete("/box/x");
        Assert.Single(Due(r));
    }

    [Fact]
    public void FindReapable_ManyContainers_ExaminesAtMostItsBoundPerCall_AndASweepOfCallsCoversThemAll()
    {
        const int count = 100_000;
        var r = new Registry();
        r.Create("/c");
        var ops = new List<TxnOp>();
        for (var i = 0; i < count; i++)
        {
            ops.Add(new CreateOp($"/c/{i:D6}", default, CreateMode.Container));
            if (ops.Count == 10_000)
            {
                r.Apply(new Transaction(r.Header(), ops));
                ops = [];
            }
        }

        // Every tenth container had a child that went: those are due.
        for (var i = 0; i < count; i += 10)
        {
            r.Create($"/c/{i:D6}/x");
            r.Delete($"/c/{i:D6}/x");
        }

        var found = new List<ReapCandidate>();
        var calls = 0;
        string? after = null;
        var longest = TimeSpan.Zero;
        do
        {
            var watch = Stopwatch.StartNew();
            var scan = r.Machine.FindReapable(r.Time, after, 10_000, 100_000);
            longest = watch.Elapsed > longest ? watch.Elapsed : longest;
            found.AddRange(scan.Due);
            Assert.True(scan.Due.Count <= 1_000);
            after = scan.Next;
            calls++;
        }
        while (after is not null);

        Assert.Equal(10, calls);
        Assert.Equal(count / 10, found.Count);
        Assert.Equal(found.Count, found.Select(c => c.Path).Distinct().Count());
        Assert.Equal(300, r.Machine.FindReapable(r.Time, null, 100_000, 300).Due.Count);
        output.WriteLine($"{count} containers: {calls} slices of 10,000, the longest {longest.TotalMilliseconds:F1} ms");
    }

    // A container that had a child and has none left, and what the reaper found due then.
    private static (Registry Registry, IReadOnlyList<ReapCandidate> Due) EmptiedContainerSeenDue()
    {
        var r = new Registry();
        Container(r, "/box");
        r.Create("/box/x");
        r.Delete("/box/x");
        return (r, Due(r));
    }

    private static void Container(Registry r, string path) =>
        Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(r.Header(), path, default, CreateMode.Container)).Error);

    private static void Ttl(Registry r, string path, long ttlMs) =>
        Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(r.Header(), path, default, CreateMode.PersistentWithTtl, TtlMs: ttlMs)).Error);

    private static IReadOnlyList<ReapCandidate> Due(Registry r) => r.Machine.FindReapable(r.Time, null, 1_000, 1_000).Due;
}
