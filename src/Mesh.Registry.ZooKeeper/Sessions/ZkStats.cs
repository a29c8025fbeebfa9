using Mesh.Registry.Core;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>The registry's node metadata as ZooKeeper's <see cref="Stat"/>: zxids are log indexes; ACLs are not kept, so aversion is 0.</summary>
public static class ZkStats
{
    public static Stat From(NodeStat s, long pzxid) => new(
        Czxid: s.CreatedIndex,
        Mzxid: s.ModifiedIndex,
        Ctime: s.CreatedTime,
        Mtime: s.ModifiedTime,
        Version: (int)s.Version,
        Cversion: (int)s.ChildVersion,
        Aversion: 0,
        EphemeralOwner: s.EphemeralOwner,
        DataLength: s.DataLength,
        NumChildren: s.NumChildren,
        Pzxid: pzxid);

    /// <summary>
    /// The stat of the node at <paramref name="path"/> in <paramref name="state"/>. The core does not
    /// keep pzxid (the zxid of the last child created or deleted) yet, so it is worked out from the
    /// children: exact while no child was ever deleted (cversion = numChildren), else the last
    /// creation of a live child, a lower bound. See docs/zookeeper.md, "Not yet".
    /// </summary>
    public static Stat Of(RegistryStateMachine state, string path, NodeStat s) => From(s, Pzxid(state, path, s));

    private static long Pzxid(RegistryStateMachine state, string path, NodeStat s)
    {
        if (s.NumChildren == 0)
            return s.CreatedIndex;
        var latest = s.CreatedIndex;
        foreach (var child in state.GetChildren(path).Children)
        {
            var stat = state.Exists(NodePath.Combine(path, child));
            if (stat.IsOk && stat.Stat.CreatedIndex > latest)
                latest = stat.Stat.CreatedIndex;
        }
        return latest;
    }
}
