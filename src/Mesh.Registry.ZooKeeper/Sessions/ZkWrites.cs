using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// The write ops as registry commands, and their results as ZooKeeper replies. Everything that can
/// be refused without the tree (paths, flags, ACLs, access) is refused before anything is proposed.
/// </summary>
internal static class ZkWrites
{
    public static ZkStep Plan(ZkSession session, ZkRequest request, long zxid)
    {
        var xid = request.Xid;
        if (request.Op == OpCode.Multi)
            return PlanMulti(session, xid, zxid, (List<MultiOp>)request.Body!);
        var (op, error) = ToTxnOp(session, request.Op, (IJuteWritable)request.Body!);
        if (error is { } refused)
            return ZkSession.Fail(xid, zxid, refused);
        var plan = session.Access.PlanWrite([op!]);
        if (plan.Error is { } planError)
            return ZkSession.Fail(xid, zxid, planError);
        var caller = session.CallerFor([op!]);
        if (plan.Guards.Count > 0 || op is SetAclOp)
        {
            // Guards and the op in one transaction; the reply is the op's own result.
            var guards = plan.Guards.Count;
            return new ZkStep.Write(
                header => new Transaction(header with { Quota = plan.Quota, Caller = caller }, [.. plan.Guards, op!]),
                (result, state) => result.FailedOp is >= 0 and var failed && failed < guards
                    ? ZkReply.Fail(xid, result.Index, ZkError.NoAuth)
                    : result.IsOk
                        ? new ZkReply(xid, result.Index, ZkError.Ok, Body(request.Op, result.OpResults[guards].Path, result.OpResults[guards].Stat, state))
                        : ZkReply.Fail(xid, result.Index, ZkErrors.From(result.Error)));
        }
        return new ZkStep.Write(
            header => (header with { Quota = plan.Quota, Caller = caller }, op!) switch
            {
                (var h, CreateOp c) => new CreateNode(h, c.Path, c.Data, c.Mode, c.SessionId, Acl: c.Acl, TtlMs: c.TtlMs),
                (var h, SetDataOp s) => new SetData(h, s.Path, s.Data, s.ExpectedVersion),
                (var h, DeleteOp d) => new DeleteNode(h, d.Path, d.ExpectedVersion),
                _ => throw new InvalidOperationException($"no single command for {op!.GetType().Name}"),
            },
            (result, state) => result.IsOk
                ? new ZkReply(xid, result.Index, ZkError.Ok, Body(request.Op, result.Path!, result.Stat, state))
                : ZkReply.Fail(xid, result.Index, ZkErrors.From(result.Error)));
    }

    private static ZkStep PlanMulti(ZkSession session, int xid, long zxid, List<MultiOp> ops)
    {
        if (ops.Count == 0)
            return new ZkStep.Answer(new ZkReply(xid, zxid, ZkError.Ok, new MultiResponse([])));
        var txn = new TxnOp[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            var (op, error) = ToTxnOp(session, ops[i].Type, ops[i].Request);
            if (error is { } refused)
                return new ZkStep.Answer(new ZkReply(xid, zxid, ZkError.Ok, Failed(ops.Count, i, refused)));
            txn[i] = op!;
        }
        var plan = session.Access.PlanWrite(txn);
        if (plan.Error is { } planError)
            return new ZkStep.Answer(new ZkReply(xid, zxid, ZkError.Ok, Failed(ops.Count, 0, planError)));
        var guards = plan.Guards.Count;
        var caller = session.CallerFor(txn);
        return new ZkStep.Write(
            header => new Transaction(header with { Quota = plan.Quota, Caller = caller }, [.. plan.Guards, .. txn]),
            (result, state) =>
            {
                // A failed guard: the ownership the write was allowed on changed; the first op answers NoAuth.
                if (result.FailedOp >= 0 && result.FailedOp < guards)
                    return new ZkReply(xid, result.Index, ZkError.Ok, Failed(ops.Count, 0, ZkError.NoAuth));
                // The reply header says Ok even when an op failed: the per-op results say which (as in ZooKeeper).
                if (result.FailedOp >= 0)
                    return new ZkReply(xid, result.Index, ZkError.Ok, Failed(ops.Count, result.FailedOp - guards, ZkErrors.From(result.Error)));
                if (!result.IsOk)
                    return ZkReply.Fail(xid, result.Index, ZkErrors.From(result.Error));
                var results = new List<MultiResult>(ops.Count);
                for (var i = 0; i < ops.Count; i++)
                {
                    var op = result.OpResults[guards + i];
                    results.Add(new MultiResult((int)ResultType(ops[i].Type), 0, Body(ops[i].Type, op.Path, op.Stat, state)));
                }
                return new ZkReply(xid, result.Index, ZkError.Ok, new MultiResponse(results));
            });
    }

    /// <summary>ZooKeeper's failed multi: Ok for the ops before the failure, its error, RuntimeInconsistency after it.</summary>
    private static MultiResponse Failed(int count, int failed, ZkError error) => new([.. Enumerable.Range(0, count).Select(i =>
        MultiResult.Failure(i < failed ? ZkError.Ok : i == failed ? error : ZkError.RuntimeInconsistency))]);

    // ZooKeeper answers a container or TTL create inside a multi as a create2 (its CreateResult with a stat).
    private static OpCode ResultType(OpCode op) => op is OpCode.CreateContainer or OpCode.CreateTtl ? OpCode.Create2 : op;

    private static IJuteWritable? Body(OpCode op, string path, NodeStat stat, RegistryStateMachine state) => op switch
    {
        OpCode.Create => new PathResponse(path),
        OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl => new Create2Response(path, ZkStats.From(stat)),
        OpCode.SetData or OpCode.SetAcl => new StatResponse(ZkStats.Of(state, path, stat)),
        _ => null,
    };

    private static (TxnOp? Op, ZkError? Error) ToTxnOp(ZkSession session, OpCode type, IJuteWritable body)
    {
        switch (body)
        {
            case CreateRequest create:
                return ToCreate(session, type, create.Path, create.Data, create.Acl, create.Flags, ttl: null);
            case CreateTtlRequest create:
                return ToCreate(session, type, create.Path, create.Data, create.Acl, create.Flags, create.Ttl);
            case SetAclRequest setAcl:
                if (Refuse(session, setAcl.Path) is { } setAclError)
                    return (null, setAclError);
                var (newAcl, newAclError) = ZkAcls.FromRequest(setAcl.Acl, session.AclIds);
                return newAclError is not null ? (null, newAclError) : (new SetAclOp(setAcl.Path!, newAcl, setAcl.Version), null);
            case SetDataRequest set:
                return Refuse(session, set.Path) is { } setError ? (null, setError) : (new SetDataOp(set.Path!, NodeData.From(set.Data), set.Version), null);
            case DeleteRequest delete:
                // ZooKeeper refuses deleting its own subtree's root as a bad argument.
                if (delete.Path == ZkSystemTree.Root)
                    return (null, ZkError.BadArguments);
                return Refuse(session, delete.Path) is { } deleteError ? (null, deleteError) : (new DeleteOp(delete.Path!, delete.Version), null);
            case CheckVersionRequest check:
                return (ZkSession.Invalid(check.Path) ?? session.Access.CanRead(check.Path!)) is { } checkError
                    ? (null, checkError)
                    : (new CheckVersionOp(check.Path!, check.Version), null);
            default:
                return (null, ZkError.Unimplemented);
        }
    }

    // ZooKeeper's order: the mode and its TTL (Unimplemented for TTL modes while they are off), then the path, then the ACL.
    private static (TxnOp? Op, ZkError? Error) ToCreate(ZkSession session, OpCode type, string? path, byte[]? data, IReadOnlyList<Acl>? acls, int flags, long? ttl)
    {
        if (Mode(type, flags) is not { } mode)
            return (null, ZkError.BadArguments);
        if (mode.IsTtl() && !session.TtlNodes)
            return (null, ZkError.Unimplemented);
        // A TTL comes only with createTTL and only for the TTL modes, in 1 ms .. 2^40-1 ms; create and create2 carry none (-1).
        var ttlMs = ttl ?? -1;
        if (mode.IsTtl() ? !NodeReaping.ValidTtl(mode, ttlMs) : ttlMs >= 0)
            return (null, ZkError.BadArguments);
        // A sequential path may end in '/' (the suffix is the whole name); the core checks the rest.
        var named = mode.IsSequential() && path is { Length: > 2 } p && p[^1] == '/' ? p[..^1] : path;
        if (Refuse(session, named) is { } createError)
            return (null, createError);
        var (acl, aclError) = ZkAcls.FromRequest(acls, session.AclIds);
        if (aclError is not null)
            return (null, aclError);
        return (new CreateOp(path!, NodeData.From(data), mode, mode.IsEphemeral() ? session.SessionId : 0, Acl: acl, TtlMs: mode.IsTtl() ? ttlMs : 0), null);
    }

    private static ZkError? Refuse(ZkSession session, string? path) =>
        ZkSession.Invalid(path) ?? ZkSystemTree.RefuseWrite(path!) ?? session.Access.CanWrite(path!);

    /// <summary>
    /// The create flags as a registry mode. createContainer makes a container whatever its flag says
    /// (ZooKeeper logs the op, not the flag) but the TTL and sequential ones; createTTL takes only the
    /// TTL flags; the TTL flags need createTTL (checked with their TTL).
    /// </summary>
    private static CreateMode? Mode(OpCode type, int flags) => (type, flags) switch
    {
        (OpCode.CreateContainer, (int)ZkCreateFlags.Container or (int)ZkCreateFlags.Persistent or (int)ZkCreateFlags.Ephemeral) => CreateMode.Container,
        (_, (int)ZkCreateFlags.PersistentWithTtl) => CreateMode.PersistentWithTtl,
        (_, (int)ZkCreateFlags.PersistentSequentialWithTtl) => CreateMode.PersistentSequentialWithTtl,
        (OpCode.CreateTtl or OpCode.CreateContainer, _) => null,
        // ZooKeeper makes a plain persistent node of the container flag sent with create or create2.
        (_, (int)ZkCreateFlags.Container) => CreateMode.Persistent,
        (_, (int)ZkCreateFlags.Persistent) => CreateMode.Persistent,
        (_, (int)ZkCreateFlags.Ephemeral) => CreateMode.Ephemeral,
        (_, (int)ZkCreateFlags.PersistentSequential) => CreateMode.Sequential,
        (_, (int)ZkCreateFlags.EphemeralSequential) => CreateMode.EphemeralSequential,
        _ => null,
    };
}
