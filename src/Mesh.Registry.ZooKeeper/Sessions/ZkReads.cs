using Mesh.Registry.Core;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// The read ops against this node's applied state, as ZooKeeper answers them. Every reply carries
/// the state's applied index as its zxid, and watches are set at that index.
/// </summary>
internal static class ZkReads
{
    public static ZkReply Run(ZkSession session, RegistryStateMachine state, ZkRequest request)
    {
        var zxid = state.AppliedIndex;
        var xid = request.Xid;
        switch (request.Body)
        {
            case PathWatchRequest read:
                if ((Check(session, read.Path) ?? (request.Op == OpCode.Exists ? null : Readable(session, state, read.Path!))) is { } error)
                    return ZkReply.Fail(xid, zxid, error);
                return request.Op switch
                {
                    OpCode.Exists => Exists(session, state, xid, read),
                    OpCode.GetData => GetData(session, state, xid, read.Path!, read.Watch),
                    _ => GetChildren(session, state, xid, read.Path!, read.Watch, withStat: request.Op == OpCode.GetChildren2),
                };
            case PathRequest path:
                // getAllChildrenNumber is not here: it is counted in slices (ZkDescendantCount).
                if (Check(session, path.Path) is { } pathError)
                    return ZkReply.Fail(xid, zxid, pathError);
                return request.Op == OpCode.GetAcl ? GetAcl(session, state, xid, path.Path!) : Ephemerals(session, state, xid, path.Path!);
            case CheckVersionRequest check:
                if ((Check(session, check.Path) ?? Readable(session, state, check.Path!)) is { } checkError)
                    return ZkReply.Fail(xid, zxid, checkError);
                if (ZkSystemTree.Contains(check.Path!))
                    return check.Version is -1 or 0 ? new ZkReply(xid, zxid, ZkError.Ok) : ZkReply.Fail(xid, zxid, ZkError.BadVersion);
                var exists = state.Exists(check.Path!);
                if (!exists.IsOk)
                    return ZkReply.Fail(xid, zxid, ZkErrors.From(exists.Error));
                return check.Version != -1 && check.Version != exists.Stat.Version
                    ? ZkReply.Fail(xid, zxid, ZkError.BadVersion)
                    : new ZkReply(xid, zxid, ZkError.Ok);
            case List<MultiOp> ops:
                return MultiRead(session, state, xid, ops);
            default:
                return ZkReply.Fail(xid, zxid, ZkError.Unimplemented);
        }
    }

    internal static ZkError? Check(ZkSession session, string? path) => ZkSession.Invalid(path) ?? session.Access.CanRead(path!);

    /// <summary>
    /// NoAuth when the node's ACL does not give the session READ (ZooKeeper's check for getData,
    /// getChildren, getAllChildrenNumber and check; exists asks for no right). A missing node
    /// passes: the op itself answers NoNode, as ZooKeeper looks the node up first.
    /// </summary>
    internal static ZkError? Readable(ZkSession session, RegistryStateMachine state, string path) =>
        Allows(session, state.GetAcl(path), AclPerms.Read) ? null : ZkError.NoAuth;

    private static bool Allows(ZkSession session, AclResult node, int perm) => !node.IsOk || NodeAcl.Allows(node.Acl, perm, session.AclIds);

    private static ZkReply Exists(ZkSession session, RegistryStateMachine state, int xid, PathWatchRequest read)
    {
        var zxid = state.AppliedIndex;
        if (ZkSystemTree.Contains(read.Path!))
        {
            if (read.Watch)
                session.Watches.AddData(read.Path!, zxid);
            return new ZkReply(xid, zxid, ZkError.Ok, new StatResponse(ZkSystemTree.StatOf(read.Path!)));
        }
        var result = state.Exists(read.Path!);
        // Also on NoNode: an exists watch waits for the node's creation.
        if (read.Watch && result.Error is ErrorCode.Ok or ErrorCode.NoNode)
            session.Watches.AddData(read.Path!, zxid);
        return result.IsOk
            ? new ZkReply(xid, zxid, ZkError.Ok, new StatResponse(ZkStats.Of(state, read.Path!, result.Stat)))
            : ZkReply.Fail(xid, zxid, ZkErrors.From(result.Error));
    }

    private static ZkReply GetData(ZkSession session, RegistryStateMachine state, int xid, string path, bool watch)
    {
        var zxid = state.AppliedIndex;
        if (ZkSystemTree.Contains(path))
        {
            if (watch)
                session.Watches.AddData(path, zxid);
            return new ZkReply(xid, zxid, ZkError.Ok, new GetDataResponse([], ZkSystemTree.StatOf(path)));
        }
        var node = state.GetNode(path);
        if (!node.IsOk)
            return ZkReply.Fail(xid, zxid, ZkErrors.From(node.Error));
        if (watch)
            session.Watches.AddData(path, zxid);
        return new ZkReply(xid, zxid, ZkError.Ok, new GetDataResponse(NodeData.IsNull(node.Data) ? null : node.Data.ToArray(), ZkStats.Of(state, path, node.Stat)));
    }

    private static ZkReply GetChildren(ZkSession session, RegistryStateMachine state, int xid, string path, bool watch, bool withStat)
    {
        var zxid = state.AppliedIndex;
        if (ZkSystemTree.Contains(path))
        {
            if (watch)
                session.Watches.AddChild(path, zxid);
            var names = ZkSystemTree.Children(path);
            return new ZkReply(xid, zxid, ZkError.Ok, withStat ? new GetChildren2Response(names, ZkSystemTree.StatOf(path)) : new StringListResponse(names));
        }
        var children = state.GetChildren(path);
        if (!children.IsOk)
            return ZkReply.Fail(xid, zxid, ZkErrors.From(children.Error));
        if (watch)
            session.Watches.AddChild(path, zxid);
        var listed = path == NodePath.Root ? ZkSystemTree.WithSystemChild(children.Children) : [.. children.Children];
        IJuteWritable body = withStat
            ? new GetChildren2Response(listed, ZkStats.Of(state, path, children.Stat))
            : new StringListResponse(listed);
        return new ZkReply(xid, zxid, ZkError.Ok, body);
    }

    /// <summary>getACL needs READ or ADMIN on the node; without ADMIN digest hashes are hidden (ZooKeeper 3.8).</summary>
    private static ZkReply GetAcl(ZkSession session, RegistryStateMachine state, int xid, string path)
    {
        if (ZkSystemTree.Contains(path))
            return new ZkReply(xid, state.AppliedIndex, ZkError.Ok, new GetAclResponse(ZkSystemTree.AclOf(path), ZkSystemTree.StatOf(path)));
        var node = state.GetAcl(path);
        if (!node.IsOk)
            return ZkReply.Fail(xid, state.AppliedIndex, ZkErrors.From(node.Error));
        if (!Allows(session, node, AclPerms.Read | AclPerms.Admin))
            return ZkReply.Fail(xid, state.AppliedIndex, ZkError.NoAuth);
        var acl = ZkAcls.ToRecords(node.Acl, admin: Allows(session, node, AclPerms.Admin));
        return new ZkReply(xid, state.AppliedIndex, ZkError.Ok, new GetAclResponse(acl, ZkStats.Of(state, path, node.Stat)));
    }

    /// <summary>This session's ephemeral nodes at or below the prefix path (ZooKeeper matches it as a path prefix).</summary>
    private static ZkReply Ephemerals(ZkSession session, RegistryStateMachine state, int xid, string prefix)
    {
        var paths = state.GetEphemerals(session.SessionId)
            .Where(p => prefix == NodePath.Root || p.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => (string?)p)
            .ToList();
        return new ZkReply(xid, state.AppliedIndex, ZkError.Ok, new StringListResponse(paths));
    }

    private static ZkReply MultiRead(ZkSession session, RegistryStateMachine state, int xid, List<MultiOp> ops)
    {
        var zxid = state.AppliedIndex;
        var results = new List<MultiResult>(ops.Count);
        foreach (var op in ops)
        {
            var read = (PathWatchRequest)op.Request;
            var reply = (Check(session, read.Path) ?? Readable(session, state, read.Path!)) is { } error
                ? ZkReply.Fail(xid, zxid, error)
                : op.Type == OpCode.GetData
                    ? GetData(session, state, xid, read.Path!, read.Watch)
                    : GetChildren(session, state, xid, read.Path!, read.Watch, withStat: false);
            results.Add(reply.Error == ZkError.Ok ? new MultiResult((int)op.Type, 0, reply.Body) : MultiResult.Failure(reply.Error));
        }
        return new ZkReply(xid, zxid, ZkError.Ok, new MultiResponse(results));
    }

    /// <summary>
    /// Re-registers a reconnecting client's watches, first firing what changed after the last zxid
    /// it saw (ZooKeeper's rules: data watches fire on a newer mzxid or a deleted node, exist
    /// watches on a node that now exists, child watches on a newer pzxid or a deleted node).
    /// </summary>
    public static ZkReply SetWatches(ZkSession session, RegistryStateMachine state, int xid, SetWatchesRequest request)
    {
        var zxid = state.AppliedIndex;
        var seen = request.RelativeZxid;
        var fired = new List<ZkReply>();
        foreach (var path in Readable(session, request.DataWatches))
        {
            var node = state.Exists(path);
            if (ZkSystemTree.Contains(path))
                session.Watches.AddData(path, zxid);
            else if (!node.IsOk)
                fired.Add(ZkReply.Notification(zxid, WatcherEventType.NodeDeleted, path));
            else if (node.Stat.ModifiedIndex > seen)
                fired.Add(ZkReply.Notification(zxid, WatcherEventType.NodeDataChanged, path));
            else
                session.Watches.AddData(path, zxid);
        }
        foreach (var path in Readable(session, request.ExistWatches))
        {
            if (state.Exists(path).IsOk || ZkSystemTree.Contains(path))
                fired.Add(ZkReply.Notification(zxid, WatcherEventType.NodeCreated, path));
            else
                session.Watches.AddData(path, zxid);
        }
        foreach (var path in Readable(session, request.ChildWatches))
        {
            var node = state.Exists(path);
            if (ZkSystemTree.Contains(path))
                session.Watches.AddChild(path, zxid);
            else if (!node.IsOk)
                fired.Add(ZkReply.Notification(zxid, WatcherEventType.NodeDeleted, path));
            else if (node.Stat.ChildModifiedIndex > seen)
                fired.Add(ZkReply.Notification(zxid, WatcherEventType.NodeChildrenChanged, path));
            else
                session.Watches.AddChild(path, zxid);
        }
        foreach (var path in Readable(session, request.PersistentWatches))
            session.Watches.AddPersistent(path, zxid, recursive: false);
        foreach (var path in Readable(session, request.PersistentRecursiveWatches))
            session.Watches.AddPersistent(path, zxid, recursive: true);
        session.Queue(fired);
        return new ZkReply(xid, zxid, ZkError.Ok);
    }

    // A watch on a path the session may not read is dropped silently, as a watch on an invalid path.
    private static IEnumerable<string> Readable(ZkSession session, IReadOnlyList<string?> paths) =>
        paths.Where(p => NodePath.IsValid(p) && session.Access.CanRead(p!) is null).Select(p => p!);
}
