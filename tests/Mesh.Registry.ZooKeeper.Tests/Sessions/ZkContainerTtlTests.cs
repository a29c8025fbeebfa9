using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper.Tests.Sessions;

/// <summary>createContainer and createTTL as ZooKeeper 3.8 answers them, and reaping as clients see it.</summary>
public sealed class ZkContainerTtlTests
{
    private readonly ZkHarness _zk = new();

    private static CreateRequest Create(string path, ZkCreateFlags flags = ZkCreateFlags.Persistent) => new(path, [], Acl.OpenUnsafe, (int)flags);

    private static CreateTtlRequest CreateTtl(string path, long ttl, ZkCreateFlags flags = ZkCreateFlags.PersistentWithTtl) => new(path, [], Acl.OpenUnsafe, (int)flags, ttl);

    [Fact]
    public void CreateContainer_AnswersCreate2_WithEphemeralOwnerZero_AndMakesAContainer()
    {
        var s = _zk.Open();

        var (_, reply) = _zk.Send(s, OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container));

        var created = ZkHarness.Body<Create2Response>(reply);
        Assert.Equal(("/box", 0L), (created.Path, created.Stat.EphemeralOwner));
        Assert.Equal(NodeKind.Container, _zk.State.Exists("/box").Stat.Kind);
    }

    [Fact]
    public void CreateContainer_WithThePersistentFlag_MakesAContainer_WithASequentialFlagIsBadArguments_AndTheContainerFlagOnCreate_MakesAPlainNode()
    {
        var s = _zk.Open();

        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.CreateContainer, Create("/box")).Reply.Error);
        Assert.Equal(NodeKind.Container, _zk.State.Exists("/box").Stat.Kind);
        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.CreateContainer, Create("/seq-", ZkCreateFlags.PersistentSequential)).Reply.Error);
        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.Create, Create("/plain", ZkCreateFlags.Container)).Reply.Error);
        Assert.Equal(NodeKind.Plain, _zk.State.Exists("/plain").Stat.Kind);
    }

    [Fact]
    public void TtlNodes_WhenOff_AnswerUnimplemented_LikeZooKeepersDefault()
    {
        var s = _zk.Open();

        Assert.Equal(ZkError.Unimplemented, _zk.Send(s, OpCode.CreateTtl, CreateTtl("/t", 1000)).Reply.Error);
        Assert.Equal(ZkError.Unimplemented, _zk.Send(s, OpCode.Create, Create("/t", ZkCreateFlags.PersistentWithTtl)).Reply.Error);
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.Exists, new PathWatchRequest("/t", false)).Reply.Error);
    }

    [Fact]
    public void CreateTtl_WhenOn_MakesATtlNode_SequentialToo()
    {
        var s = _zk.Open();
        s.TtlNodes = true;

        var (_, plain) = _zk.Send(s, OpCode.CreateTtl, CreateTtl("/t", 1000));
        var (_, sequential) = _zk.Send(s, OpCode.CreateTtl, CreateTtl("/t/s-", NodeReaping.MaxTtlMs, ZkCreateFlags.PersistentSequentialWithTtl));

        Assert.Equal(0, ZkHarness.Body<Create2Response>(plain).Stat.EphemeralOwner);
        Assert.Equal("/t/s-0000000000", ZkHarness.Body<Create2Response>(sequential).Path);
        Assert.Equal((NodeKind.Ttl, 1000L), (_zk.State.Exists("/t").Stat.Kind, _zk.State.Exists("/t").Stat.TtlMs));
        Assert.Equal(NodeReaping.MaxTtlMs, _zk.State.Exists("/t/s-0000000000").Stat.TtlMs);
    }

    [Theory]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.PersistentWithTtl, 0L)]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.PersistentWithTtl, -5L)]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.PersistentSequentialWithTtl, NodeReaping.MaxTtlMs + 1)]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.Persistent, 1000L)]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.Ephemeral, 1000L)]
    [InlineData(OpCode.CreateTtl, ZkCreateFlags.Container, 1000L)]
    public void CreateTtl_WithATtlThatDoesNotFitItsMode_IsBadArguments(OpCode op, ZkCreateFlags flags, long ttl)
    {
        var s = _zk.Open();
        s.TtlNodes = true;

        Assert.Equal(ZkError.BadArguments, _zk.Send(s, op, CreateTtl("/t", ttl, flags)).Reply.Error);
    }

    [Fact]
    public void Create_WithATtlFlag_WhenOn_IsBadArguments_ForItCarriesNoTtl()
    {
        var s = _zk.Open();
        s.TtlNodes = true;

        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.Create2, Create("/t", ZkCreateFlags.PersistentWithTtl)).Reply.Error);
    }

    [Fact]
    public void Multi_WithContainerAndTtlCreates_AnswersThemAsCreate2()
    {
        var s = _zk.Open();
        s.TtlNodes = true;

        var (_, reply) = _zk.Send(s, OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container)),
            new MultiOp(OpCode.CreateTtl, CreateTtl("/box/t", 500)),
        ]));

        var results = ZkHarness.MultiResults(reply);
        Assert.Equal([15, 15], results.Select(r => r.Type));
        Assert.Equal("/box/t", ((Create2Response)results[1].Response!).Path);
        Assert.Equal(NodeKind.Ttl, _zk.State.Exists("/box/t").Stat.Kind);
    }

    [Fact]
    public void Multi_WithATtlCreate_WhenOff_FailsThatOpUnimplemented()
    {
        var s = _zk.Open();

        var (_, reply) = _zk.Send(s, OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.Create, Create("/a")),
            new MultiOp(OpCode.CreateTtl, CreateTtl("/t", 500)),
        ]));

        Assert.Equal([0, (int)ZkError.Unimplemented], ZkHarness.MultiResults(reply).Select(r => r.Err));
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.Exists, new PathWatchRequest("/a", false)).Reply.Error);
    }

    [Fact]
    public void Reaping_FiresTheWatchesOfADelete()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.CreateContainer, Create("/box", ZkCreateFlags.Container));
        _zk.Send(s, OpCode.Create, Create("/box/x"));
        _zk.Send(s, OpCode.Delete, new DeleteRequest("/box/x", -1));
        _zk.Send(s, OpCode.Exists, new PathWatchRequest("/box", true));
        _zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/", true));

        _zk.Apply(new ReapNodes(CommandHeader.At(_zk.TimeMs), _zk.State.FindReapable(_zk.TimeMs, null, 10, 10).Due));

        Assert.Equal(
            [(WatcherEventType.NodeDeleted, "/box"), (WatcherEventType.NodeChildrenChanged, "/")],
            _zk.TakeNotifications(s).Select(n => ((WatcherEventType)ZkHarness.Body<WatcherEvent>(n).Type, ZkHarness.Body<WatcherEvent>(n).Path)));
    }

}
