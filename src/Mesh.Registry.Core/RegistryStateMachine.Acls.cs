using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Per-node ACLs: kept on the node (null = open), checked only for writes that carry a caller
// (the ZooKeeper port), and changed by setACL, which bumps the node's ACL version.
public sealed partial class RegistryStateMachine
{
    private IReadOnlyList<AclId>? _caller;

    /// <summary>
    /// True once any node has been given an ACL other than the open one (it stays true). Until then
    /// snapshots are written in a format the previous release reads, and the ZooKeeper port need
    /// not send callers with its writes.
    /// </summary>
    public bool AclsInUse { get; private set; }

    /// <summary>A node's ACL (null: the open ACL) and stat, or <see cref="ErrorCode.NoNode"/>.</summary>
    public AclResult GetAcl(string path)
    {
        if (!NodePath.IsValid(path))
        {
            return new AclResult(ErrorCode.InvalidPath, null, default);
        }

        return _nodes.TryGetValue(path, out var node)
            ? new AclResult(ErrorCode.Ok, node.Acl, node.Stat)
            : new AclResult(ErrorCode.NoNode, null, default);
    }

    // A write without a caller is not checked (the registry's token policy already allowed it).
    private bool Permits(Node node, int perm) => _caller is not { } caller || NodeAcl.Allows(node.Acl, perm, caller);

    private void Keep(IReadOnlyList<AclEntry>? acl)
    {
        if (acl is not null)
        {
            AclsInUse = true;
        }
    }

    private OpResult SetNodeAcl(string path, IReadOnlyList<AclEntry>? acl, long expectedVersion)
    {
        if (!NodePath.IsValid(path))
        {
            return new OpResult(ErrorCode.InvalidPath, path ?? string.Empty, default);
        }

        if (!_nodes.TryGetValue(path, out var node))
        {
            return new OpResult(ErrorCode.NoNode, path, default);
        }

        if (!Permits(node, AclPerms.Admin))
        {
            return new OpResult(ErrorCode.NoAuth, path, default);
        }

        if (expectedVersion != -1 && expectedVersion != node.AclVersion)
        {
            return new OpResult(ErrorCode.BadVersion, path, default);
        }

        // No event: ZooKeeper fires no watch for an ACL change.
        _undo?.Add(UndoEntry.AclSet(node));
        acl = NodeAcl.Compact(acl);
        Keep(acl);
        node.Acl = acl;
        node.AclVersion++;
        return new OpResult(ErrorCode.Ok, path, node.Stat);
    }
}
