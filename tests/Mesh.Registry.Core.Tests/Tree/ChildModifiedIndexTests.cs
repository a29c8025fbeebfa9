using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Tests.Tree;

/// <summary>ZooKeeper's pzxid: the index of the last child creation or deletion, kept per node.</summary>
public sealed class ChildModifiedIndexTests
{
    [Fact]
    public void ChildModifiedIndex_NewNode_IsItsCreationIndex()
    {
        var r = new Registry();
        var created = r.Create("/a");

        Assert.Equal(created.Index, created.Stat.ChildModifiedIndex);
    }

    [Fact]
    public void ChildModifiedIndex_ChildCreatedThenDeleted_IsTheDeletionIndex_AndDataChangesLeaveIt()
    {
        var r = new Registry();
        r.Create("/a");
        var child = r.Create("/a/b");
        Assert.Equal(child.Index, r.Machine.Exists("/a").Stat.ChildModifiedIndex);
        r.Set("/a/b", "x");
        r.Set("/a", "y");
        Assert.Equal(child.Index, r.Machine.Exists("/a").Stat.ChildModifiedIndex);

        var deleted = r.Delete("/a/b");

        Assert.Equal(deleted.Index, r.Machine.Exists("/a").Stat.ChildModifiedIndex);
    }

    [Fact]
    public void ChildModifiedIndex_FailedTransaction_IsRolledBack()
    {
        var r = new Registry();
        r.Create("/a");
        var before = r.Create("/a/keep").Index;

        var failed = r.Apply(new Transaction(r.Header(), [new CreateOp("/a/new", default), new DeleteOp("/a/keep"), new CheckVersionOp("/a", 7)]));

        Assert.Equal(ErrorCode.BadVersion, failed.Error);
        Assert.Equal(before, r.Machine.Exists("/a").Stat.ChildModifiedIndex);
    }

    [Fact]
    public void ReadSnapshot_Format2_TakesTheLatestChildCreationAsChildModifiedIndex()
    {
        var r = new Registry();
        r.Create("/a");
        var newest = r.Create("/a/b").Index;
        r.Create("/a/c");
        var deleted = r.Delete("/a/c").Index;
        using var old = new MemoryStream();
        r.Machine.WriteSnapshot(old, 2);
        old.Position = 0;

        var restored = RegistryStateMachine.ReadSnapshot(old);

        // Format 2 kept no pzxid: the deletion is lost, the newest live child's creation is the best bound.
        Assert.Equal(deleted, r.Machine.Exists("/a").Stat.ChildModifiedIndex);
        Assert.Equal(newest, restored.Exists("/a").Stat.ChildModifiedIndex);
        Assert.Equal(r.Machine.Exists("/a/b").Stat, restored.Exists("/a/b").Stat);
    }
}
