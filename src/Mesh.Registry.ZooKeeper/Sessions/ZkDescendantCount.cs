using Mesh.Registry.Core;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// <c>getAllChildrenNumber</c>: the nodes below a path, counted a slice at a time. Walked in one go
/// under the store's lock, a count of "/" on a big tree would hold back every write the node
/// applies (and every other read) for as long as the walk takes; in slices of about
/// <see cref="SliceNodes"/> nodes the lock is let go between them. The count is then not of one
/// instant: a node made or removed during the walk may or may not be in it. ZooKeeper's own walk
/// runs beside concurrent writes too, so its count is no snapshot either. The reply carries the
/// applied index at the end of the walk.
/// </summary>
internal sealed class ZkDescendantCount(ZkSession session, int xid, string? path)
{
    /// <summary>Nodes visited per slice, about: a slice ends between parents once past it.</summary>
    public const int SliceNodes = 4_096;

    private readonly Stack<string> _pending = new();
    private bool _started;
    private int _count;

    /// <summary>One slice of the walk; the reply once the walk is done (or the request fails), null to be called again.</summary>
    public ZkReply? Next(RegistryStateMachine state)
    {
        if (!_started)
        {
            _started = true;
            if (Start(state) is { } answer)
                return answer;
        }
        var visited = 0;
        while (visited < SliceNodes && _pending.TryPop(out var parent))
        {
            foreach (var child in state.GetChildren(parent).Children)
            {
                // The CA's nodes are not counted: their number is the number of join tokens.
                var node = NodePath.Combine(parent, child);
                if (ZkAccess.IsCaPath(node))
                    continue;
                _count++;
                visited++;
                _pending.Push(node);
            }
            visited++;
        }
        return _pending.Count == 0 ? new ZkReply(xid, state.AppliedIndex, ZkError.Ok, new IntResponse(_count)) : null;
    }

    private ZkReply? Start(RegistryStateMachine state)
    {
        var zxid = state.AppliedIndex;
        if ((ZkReads.Check(session, path) ?? ZkReads.Readable(session, state, path!)) is { } error)
            return ZkReply.Fail(xid, zxid, error);
        if (ZkSystemTree.Contains(path!))
            return new ZkReply(xid, zxid, ZkError.Ok, new IntResponse(ZkSystemTree.Children(path!).Count));
        var root = state.GetChildren(path!);
        if (!root.IsOk)
            return ZkReply.Fail(xid, zxid, ZkErrors.From(root.Error));
        // The root also holds ZooKeeper's /zookeeper, /zookeeper/config and /zookeeper/quota.
        _count = path == NodePath.Root && !state.Exists(ZkSystemTree.Root).IsOk ? 3 : 0;
        _pending.Push(path!);
        return null;
    }
}
