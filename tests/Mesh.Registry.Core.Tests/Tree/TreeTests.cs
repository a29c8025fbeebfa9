using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Tree;

public sealed class TreeTests
{
    [Fact]
    public void Create_NewNode_StoresDataWithIndexAndTime()
    {
        var r = new Registry();
        var result = r.Create("/a", "hello");

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal("/a", result.Path);
        var node = r.Machine.GetNode("/a");
        Assert.Equal("hello", r.Data("/a"));
        Assert.Equal(new NodeStat(0, 0, 1, 1, r.Time, r.Time, 0, 5, 0, 1), node.Stat);
        Assert.Equal(1, r.Machine.AppliedIndex);
    }

    [Fact]
    public void Create_NewNode_EmitsCreatedAndParentChildrenChanged()
    {
        var r = new Registry();
        r.Create("/a");
        var result = r.Create("/a/b");

        Assert.Equal(
            [new ChangeEvent(2, ChangeEventType.Created, "/a/b"), new ChangeEvent(2, ChangeEventType.ChildrenChanged, "/a")],
            result.Events);
    }

    [Fact]
    public void Create_ExistingPath_IsNodeExists()
    {
        var r = new Registry();
        r.Create("/a");
        Assert.Equal(ErrorCode.NodeExists, r.Create("/a").Error);
        Assert.Equal(ErrorCode.NodeExists, r.Create("/").Error);
    }

    [Fact]
    public void Create_MissingParent_IsNoNodeUnlessParentsRequested()
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.NoNode, r.Create("/a/b/c").Error);

        var result = r.Create("/a/b/c", "x", parents: true);

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal(["b"], r.Machine.GetChildren("/a").Children);
        Assert.Equal(0, r.Machine.GetNode("/a/b").Stat.EphemeralOwner);
        Assert.Equal(
            ["/a", "/", "/a/b", "/a", "/a/b/c", "/a/b"],
            result.Events.Select(e => e.Path));
    }

    [Fact]
    public void Create_UnderEphemeral_IsNoChildrenForEphemerals()
    {
        var r = new Registry();
        var session = r.OpenSession();
        r.Create("/e", mode: CreateMode.Ephemeral, session: session);

        Assert.Equal(ErrorCode.NoChildrenForEphemerals, r.Create("/e/x").Error);
        Assert.Equal(ErrorCode.NoChildrenForEphemerals, r.Create("/e/x/y", parents: true).Error);
        Assert.Equal(1, r.Machine.GetNode("/").Stat.NumChildren);
    }

    [Fact]
    public void Create_DataOverOneMebibyte_IsDataTooLarge()
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.DataTooLarge, r.Apply(new CreateNode(r.Header(), "/a", new byte[NodeLimits.MaxDataBytes + 1])).Error);
        Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(r.Header(), "/a", new byte[NodeLimits.MaxDataBytes])).Error);
    }

    [Fact]
    public void SetData_MatchingOrAnyVersion_BumpsVersionAndModifiedIndex()
    {
        var r = new Registry();
        r.Create("/a", "1");
        r.Time += 5;
        Assert.Equal(ErrorCode.Ok, r.Set("/a", "2", version: 0).Error);
        var result = r.Set("/a", "3");

        Assert.Equal(2, result.Stat.Version);
        Assert.Equal(3, result.Stat.ModifiedIndex);
        Assert.Equal(1, result.Stat.CreatedIndex);
        Assert.Equal(r.Time, result.Stat.ModifiedTime);
        Assert.Equal([new ChangeEvent(3, ChangeEventType.DataChanged, "/a")], result.Events);
        Assert.Equal("3", r.Data("/a"));
    }

    [Fact]
    public void SetData_WrongVersion_IsBadVersionAndChangesNothing()
    {
        var r = new Registry();
        r.Create("/a", "1");
        var result = r.Set("/a", "2", version: 7);

        Assert.Equal(ErrorCode.BadVersion, result.Error);
        Assert.Empty(result.Events);
        Assert.Equal("1", r.Data("/a"));
    }

    [Fact]
    public void Delete_NodeWithChildren_IsNotEmptyUnlessRecursive()
    {
        var r = new Registry();
        r.Create("/a/b/c", parents: true);
        r.Create("/a/d");
        Assert.Equal(ErrorCode.NotEmpty, r.Delete("/a").Error);

        var result = r.Delete("/a", recursive: true);

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal(1, r.Machine.NodeCount);
        Assert.Equal(
            ["Deleted /a/b/c", "ChildrenChanged /a/b", "Deleted /a/b", "ChildrenChanged /a", "Deleted /a/d", "ChildrenChanged /a", "Deleted /a", "ChildrenChanged /"],
            result.Events.Select(e => $"{e.Type} {e.Path}"));
    }

    [Fact]
    public void Delete_RootOrMissingOrWrongVersion_IsRejected()
    {
        var r = new Registry();
        r.Create("/a");
        Assert.Equal(ErrorCode.InvalidPath, r.Delete("/").Error);
        Assert.Equal(ErrorCode.NoNode, r.Delete("/b").Error);
        Assert.Equal(ErrorCode.BadVersion, r.Delete("/a", version: 1).Error);
        Assert.Equal(ErrorCode.Ok, r.Delete("/a", version: 0).Error);
    }

    [Fact]
    public void GetChildren_AnyInsertionOrder_ListsNamesSortedOrdinally()
    {
        var r = new Registry();
        foreach (var name in new[] { "b", "a", "C", "aa", "c" })
        {
            r.Create("/" + name);
        }

        Assert.Equal(["C", "a", "aa", "b", "c"], r.Machine.GetChildren("/").Children);
        Assert.Equal(5, r.Machine.GetChildren("/").Stat.ChildVersion);
    }

    [Fact]
    public void Reads_InvalidOrMissingPath_ReturnCodes()
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.InvalidPath, r.Machine.GetNode("a").Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.GetNode("/a").Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/a").Error);
        Assert.Equal(ErrorCode.InvalidPath, r.Machine.GetChildren("/a/").Error);
        Assert.Equal(ErrorCode.Ok, r.Machine.Exists("/").Error);
    }

    [Fact]
    public void Apply_IndexNotAfterApplied_Throws()
    {
        var r = new Registry();
        r.Create("/a");
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Machine.Apply(1, new DeleteNode(r.Header(), "/a")));
    }
}
