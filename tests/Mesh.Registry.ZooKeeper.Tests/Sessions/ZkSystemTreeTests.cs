using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Tests.Sessions;

/// <summary>ZooKeeper's /zookeeper subtree, and the stat fields kept by the core (pzxid), as a ZooKeeper 3.8 answers them.</summary>
public sealed class ZkSystemTreeTests
{
    private readonly ZkHarness _zk = new();

    private static CreateRequest Create(string path, ZkCreateFlags flags = ZkCreateFlags.Persistent) => new(path, [], Acl.OpenUnsafe, (int)flags);

    [Fact]
    public void ZooKeeperNode_IsListedUnderTheRoot_WithConfigAndQuota_AndZooKeepersStats()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/app"));

        var root = ZkHarness.Body<GetChildren2Response>(_zk.Send(s, OpCode.GetChildren2, new PathWatchRequest("/", false)).Reply);
        Assert.Equal(["app", "zookeeper"], root.Children);
        Assert.Equal(2, root.Stat.NumChildren);
        Assert.Equal(["config", "quota"], ZkHarness.Body<StringListResponse>(_zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/zookeeper", false)).Reply).Items);
        Assert.Equal(new Stat(0, 0, 0, 0, 0, -2, 0, 0, 0, 2, 0), ZkHarness.Body<StatResponse>(_zk.Send(s, OpCode.Exists, new PathWatchRequest("/zookeeper", false)).Reply).Stat);
        var config = ZkHarness.Body<GetDataResponse>(_zk.Send(s, OpCode.GetData, new PathWatchRequest("/zookeeper/config", false)).Reply);
        Assert.Equal((0, -1), (config.Data!.Length, config.Stat.Aversion));
        Assert.Equal(4, ZkHarness.Body<IntResponse>(_zk.Send(s, OpCode.GetAllChildrenNumber, new PathRequest("/")).Reply).Value);
    }

    [Fact]
    public void ZooKeeperNode_IsReadOnly_AndItsRootCannotBeDeleted()
    {
        var s = _zk.Open();

        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.Create, Create("/zookeeper/mine")).Reply.Error);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.SetData, new SetDataRequest("/zookeeper/config", [1], -1)).Reply.Error);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.Delete, new DeleteRequest("/zookeeper/quota", -1)).Reply.Error);
        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.Delete, new DeleteRequest("/zookeeper", -1)).Reply.Error);
        Assert.False(_zk.State.Exists("/zookeeper").IsOk);
    }

    [Fact]
    public void Pzxid_AfterAChildIsDeleted_IsTheDeletionsZxid()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/p"));
        _zk.Send(s, OpCode.Create, Create("/p/a"));
        _zk.Send(s, OpCode.Create, Create("/p/b"));
        _zk.Send(s, OpCode.Delete, new DeleteRequest("/p/b", -1));
        var deleted = _zk.Index;
        _zk.Send(s, OpCode.SetData, new SetDataRequest("/p/a", [1], -1));

        var stat = ZkHarness.Body<StatResponse>(_zk.Send(s, OpCode.Exists, new PathWatchRequest("/p", false)).Reply).Stat;

        Assert.Equal((deleted, 3, 1), (stat.Pzxid, stat.Cversion, stat.NumChildren));
    }

    [Fact]
    public void Create_SequentialPathEndingInSlash_IsNamedBySuffixAlone_AndNonSequentialIsBadArguments()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/queue"));

        Assert.Equal("/queue/0000000000", ZkHarness.Body<PathResponse>(_zk.Send(s, OpCode.Create, Create("/queue/", ZkCreateFlags.PersistentSequential)).Reply).Path);
        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.Create, Create("/queue/")).Reply.Error);
    }
}
