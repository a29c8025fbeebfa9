using Mesh.Registry.Core;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>The registry's node metadata as ZooKeeper's <see cref="Stat"/>: zxids are log indexes.</summary>
public static class ZkStats
{
    public static Stat From(NodeStat s) => new(
        Czxid: s.CreatedIndex,
        Mzxid: s.ModifiedIndex,
        Ctime: s.CreatedTime,
        Mtime: s.ModifiedTime,
        Version: (int)s.Version,
        Cversion: (int)s.ChildVersion,
        Aversion: (int)s.AclVersion,
        EphemeralOwner: s.EphemeralOwner,
        DataLength: s.DataLength,
        NumChildren: s.NumChildren,
        Pzxid: s.ChildModifiedIndex);

    /// <summary>
    /// The stat of the node at <paramref name="path"/> in <paramref name="state"/>; the root counts
    /// ZooKeeper's own <c>/zookeeper</c> among its children (<see cref="ZkSystemTree"/>).
    /// </summary>
    public static Stat Of(RegistryStateMachine state, string path, NodeStat s)
    {
        var stat = From(s);
        return path == NodePath.Root && !state.Exists(ZkSystemTree.Root).IsOk ? stat with { NumChildren = stat.NumChildren + 1 } : stat;
    }
}
