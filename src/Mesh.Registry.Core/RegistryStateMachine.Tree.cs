using System.Globalization;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Node operations. Each checks everything before its first change, so a failed op changes
// nothing; inside a transaction every change is also recorded in the undo log.
public sealed partial class RegistryStateMachine
{
    private OpResult CreateNode(string path, ReadOnlyMemory<byte> data, CreateMode mode, long sessionId, bool createParents, IReadOnlyList<AclEntry>? acl = null, long ttlMs = 0)
    {
        // ZooKeeper checks the mode's TTL before the path.
        if (!Enum.IsDefined(mode) || !NodeReaping.ValidTtl(mode, ttlMs))
        {
            return new OpResult(ErrorCode.BadArguments, path ?? string.Empty, default);
        }

        // Order of checks: path, data size, session, existence of parent, CREATE on it, node. A sequential path
        // may end in '/' (the suffix is then the whole name), as in ZooKeeper.
        var named = mode.IsSequential() && path is { Length: > 2 } && path[^1] == '/' ? path[..^1] : path;
        if (!NodePath.IsValid(named) || (mode.IsSequential() && path.Length + NodeLimits.SequenceDigits > NodePath.MaxLength))
        {
            return new OpResult(ErrorCode.InvalidPath, path ?? string.Empty, default);
        }

        if (data.Length > NodeLimits.MaxDataBytes)
        {
            return new OpResult(ErrorCode.DataTooLarge, path, default);
        }

        Session? session = null;
        if (mode.IsEphemeral() && !_sessions.TryGetValue(sessionId, out session))
        {
            return new OpResult(ErrorCode.SessionExpired, path, default);
        }

        if (path.Length == 1)
        {
            return new OpResult(ErrorCode.NodeExists, path, default);
        }

        var parentPath = ReferenceEquals(named, path) ? NodePath.Parent(path) : named;
        if (_nodes.TryGetValue(parentPath, out var parent))
        {
            if (!Permits(parent, AclPerms.Create))
            {
                return new OpResult(ErrorCode.NoAuth, path, default);
            }

            if (parent.EphemeralOwner != 0)
            {
                return new OpResult(ErrorCode.NoChildrenForEphemerals, path, default);
            }
        }
        else
        {
            if (!createParents)
            {
                return new OpResult(ErrorCode.NoNode, path, default);
            }

            var ancestorPath = parentPath;
            Node? ancestor;
            do
            {
                ancestorPath = NodePath.Parent(ancestorPath);
            }
            while (!_nodes.TryGetValue(ancestorPath, out ancestor));

            if (!Permits(ancestor, AclPerms.Create))
            {
                return new OpResult(ErrorCode.NoAuth, path, default);
            }

            if (ancestor.EphemeralOwner != 0)
            {
                return new OpResult(ErrorCode.NoChildrenForEphemerals, path, default);
            }

            parent = CreateMissing(parentPath, NodeAcl.Compact(acl));
        }

        // ZooKeeper numbers by child creations: ChildVersion counts creations and deletions, and
        // every deletion removed a created child, so creations = (ChildVersion + ChildCount) / 2.
        var finalPath = mode.IsSequential()
            ? string.Concat(path, ((parent.ChildVersion + parent.ChildCount) / 2).ToString("D10", CultureInfo.InvariantCulture))
            : path;
        if (_nodes.ContainsKey(finalPath))
        {
            return new OpResult(ErrorCode.NodeExists, finalPath, default);
        }

        var node = new Node(NodePath.Name(finalPath))
        {
            Data = data,
            CreatedIndex = _index,
            ModifiedIndex = _index,
            ChildModifiedIndex = _index,
            CreatedTime = _time,
            ModifiedTime = _time,
            EphemeralOwner = session?.Id ?? 0,
            Owner = _quota?.Owner,
            Acl = NodeAcl.Compact(acl),
            Kind = mode.Kind(),
            TtlMs = ttlMs,
        };
        Keep(node.Acl);
        AddNode(finalPath, node, parentPath, parent, session);
        return new OpResult(ErrorCode.Ok, finalPath, node.Stat);
    }

    // Creates the missing persistent nodes down to and including path; its nearest existing
    // ancestor has been checked to be persistent.
    private Node CreateMissing(string path, IReadOnlyList<AclEntry>? acl)
    {
        var parentPath = NodePath.Parent(path);
        if (!_nodes.TryGetValue(parentPath, out var parent))
        {
            parent = CreateMissing(parentPath, acl);
        }

        var node = new Node(NodePath.Name(path)) { CreatedIndex = _index, ModifiedIndex = _index, ChildModifiedIndex = _index, CreatedTime = _time, ModifiedTime = _time, Owner = _quota?.Owner, Acl = acl };
        Keep(acl);
        AddNode(path, node, parentPath, parent, null);
        return node;
    }

    private OpResult SetNodeData(string path, ReadOnlyMemory<byte> data, long expectedVersion)
    {
        if (!NodePath.IsValid(path))
        {
            return new OpResult(ErrorCode.InvalidPath, path ?? string.Empty, default);
        }

        if (data.Length > NodeLimits.MaxDataBytes)
        {
            return new OpResult(ErrorCode.DataTooLarge, path, default);
        }

        if (!_nodes.TryGetValue(path, out var node))
        {
            return new OpResult(ErrorCode.NoNode, path, default);
        }

        if (!Permits(node, AclPerms.Write))
        {
            return new OpResult(ErrorCode.NoAuth, path, default);
        }

        if (expectedVersion != -1 && expectedVersion != node.Version)
        {
            return new OpResult(ErrorCode.BadVersion, path, default);
        }

        _undo?.Add(UndoEntry.DataSet(node, node.Data, node.Version, node.ModifiedIndex, node.ModifiedTime));
        Count(node.Owner, 0, data.Length - node.Data.Length, 0);
        node.Data = data;
        node.Version++;
        node.ModifiedIndex = _index;
        node.ModifiedTime = _time;
        _events.Add(new ChangeEvent(_index, ChangeEventType.DataChanged, path));
        return new OpResult(ErrorCode.Ok, path, node.Stat);
    }

    private OpResult DeleteNode(string path, long expectedVersion, bool recursive)
    {
        if (!NodePath.IsValid(path) || path.Length == 1)
        {
            return new OpResult(ErrorCode.InvalidPath, path ?? string.Empty, default);
        }

        // ZooKeeper checks DELETE on the parent before it looks for the node.
        if (_nodes.TryGetValue(NodePath.Parent(path), out var parentNode) && !Permits(parentNode, AclPerms.Delete))
        {
            return new OpResult(ErrorCode.NoAuth, path, default);
        }

        if (!_nodes.TryGetValue(path, out var node))
        {
            return new OpResult(ErrorCode.NoNode, path, default);
        }

        if (expectedVersion != -1 && expectedVersion != node.Version)
        {
            return new OpResult(ErrorCode.BadVersion, path, default);
        }

        if (node.ChildCount > 0 && !recursive)
        {
            return new OpResult(ErrorCode.NotEmpty, path, default);
        }

        var parentPath = NodePath.Parent(path);
        DeleteSubtree(path, node, parentPath, _nodes[parentPath]);
        return new OpResult(ErrorCode.Ok, path, default);
    }

    private OpResult CheckVersion(string path, long expectedVersion)
    {
        if (!NodePath.IsValid(path))
        {
            return new OpResult(ErrorCode.InvalidPath, path ?? string.Empty, default);
        }

        if (!_nodes.TryGetValue(path, out var node))
        {
            return new OpResult(ErrorCode.NoNode, path, default);
        }

        if (!Permits(node, AclPerms.Read))
        {
            return new OpResult(ErrorCode.NoAuth, path, default);
        }

        return expectedVersion != -1 && expectedVersion != node.Version
            ? new OpResult(ErrorCode.BadVersion, path, default)
            : new OpResult(ErrorCode.Ok, path, node.Stat);
    }

    // Post-order, children in name order: the same as deleting each node one by one.
    private void DeleteSubtree(string path, Node node, string parentPath, Node parent)
    {
        if (node.ChildCount > 0)
        {
            foreach (var child in node.Children!.ToArray())
            {
                DeleteSubtree(NodePath.Combine(path, child.Name), child, path, node);
            }
        }

        RemoveNode(path, node, parentPath, parent);
    }

    private void AddNode(string path, Node node, string parentPath, Node parent, Session? session)
    {
        _nodes.Add(path, node);
        Track(path, node);
        _undo?.Add(UndoEntry.Created(path, node, parent));
        parent.AddChild(node);
        parent.ChildVersion++;
        parent.ChildModifiedIndex = _index;
        session?.Ephemerals.Add(path);
        Count(node.Owner, 1, node.Data.Length, 0);
        _events.Add(new ChangeEvent(_index, ChangeEventType.Created, path));
        _events.Add(new ChangeEvent(_index, ChangeEventType.ChildrenChanged, parentPath));
    }

    private void RemoveNode(string path, Node node, string parentPath, Node parent)
    {
        _nodes.Remove(path);
        Untrack(path, node);
        _undo?.Add(UndoEntry.Deleted(path, node, parent));
        parent.RemoveChild(node);
        parent.ChildVersion++;
        parent.ChildModifiedIndex = _index;
        if (node.EphemeralOwner != 0)
        {
            _sessions[node.EphemeralOwner].Ephemerals.Remove(path);
        }

        Count(node.Owner, -1, -node.Data.Length, 0);
        _events.Add(new ChangeEvent(_index, ChangeEventType.Deleted, path));
        _events.Add(new ChangeEvent(_index, ChangeEventType.ChildrenChanged, parentPath));
    }
}
