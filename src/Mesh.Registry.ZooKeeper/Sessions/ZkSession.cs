using Mesh.Registry.Core;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Watches;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// One ZooKeeper session on one connection, after the handshake: turns each request into a
/// <see cref="ZkStep"/>, keeps the session's watches, and queues watch notifications in
/// <see cref="Outbox"/>, which the edge sends before any reply (so a client sees a watch fire
/// before it sees data that reflects the change). Pure and single-threaded: the edge serialises
/// calls.
/// </summary>
public sealed class ZkSession(long sessionId, int timeoutMs, IZkAccess access)
{
    private readonly List<ZkReply> _outbox = [];

    public long SessionId { get; } = sessionId;

    public int TimeoutMs { get; } = timeoutMs;

    public IZkAccess Access { get; set; } = access;

    public ZkWatchTable Watches { get; } = new();

    /// <summary>What <c>whoAmI</c> answers: the client's address (scheme <c>ip</c>), then each identity it authenticated as; the edge fills it.</summary>
    public IReadOnlyList<ClientInfo> Identities { get; set; } = [];

    /// <summary>The identities node ACLs are checked against: the client's <c>ip</c>, then each <c>digest</c> it added; the edge fills it.</summary>
    public IReadOnlyList<AclId> AclIds { get; set; } = [];

    /// <summary>
    /// Whether the registry has ACLs other than the open one (<see cref="RegistryStateMachine.AclsInUse"/>);
    /// until then writes need not carry the session's identities, and their commands stay in the
    /// format older builds read. Unknown (the default): always carried.
    /// </summary>
    public Func<bool> AclsInUse { get; set; } = static () => true;

    /// <summary>
    /// Whether createTTL and the TTL create modes are served (ZooKeeper's
    /// <c>zookeeper.extendedTypesEnabled</c>); off, they answer Unimplemented, as ZooKeeper's
    /// default does. Containers are served either way. The edge sets it from its options.
    /// </summary>
    public bool TtlNodes { get; set; }

    /// <summary>
    /// A session served by a node cut off from its quorum (read-only mode): reads are served from
    /// that node's last applied state; writes and syncs answer NotReadOnly (-119), as ZooKeeper's
    /// read-only server does, since no leader can take them.
    /// </summary>
    public bool ReadOnly { get; init; }

    // Set once this session sends an ACL of its own: its later writes, pipelined behind that one,
    // must be checked even before this node has applied it.
    private bool _sentAcl;

    /// <summary>Notifications waiting to be sent, oldest first.</summary>
    public IReadOnlyList<ZkReply> Outbox => _outbox;

    public void ClearOutbox() => _outbox.Clear();

    /// <summary>The credentials one <c>addauth</c> may carry, at most: a registry token is 43 characters.</summary>
    public const int MaxAuthBytes = 1024;

    /// <summary>The digest identities one connection may hold, at most.</summary>
    public const int MaxDigestIdentities = 16;

    /// <summary>
    /// Whether <paramref name="packet"/> may be checked at all. ZooKeeper bounds neither, but here
    /// every write carries the session's identities in the replicated log, and every token check
    /// hashes the credentials once per join token: without a bound one client could make each of
    /// its writes megabytes long, or each check cost seconds of hashing. Refused like wrong
    /// credentials (AuthFailed, and the connection closed).
    /// </summary>
    public bool MayAuthenticate(AuthPacket packet) =>
        packet.Auth is { Length: <= MaxAuthBytes } && AclIds.Count(id => id.Scheme == "digest") < MaxDigestIdentities;

    // The registry token (a hash of it) this session acts for, once it gave one.
    private string? _token;

    /// <summary>Whether the session authenticated with a registry token (it acts for that one alone).</summary>
    public bool HoldsToken => _token is not null;

    /// <summary>
    /// Takes what authentication granted: the access, and the identities for <c>whoAmI</c> and ACLs
    /// (an identity already held is not added again, as in ZooKeeper). False, and nothing taken, for
    /// a registry token other than the one the session already acts for: rights are not added up
    /// across tokens (two namespaces' on one connection), nor silently swapped.
    /// </summary>
    public bool TryAuthenticate(ZkAuthentication granted)
    {
        if (granted.Token is { } token)
        {
            if (_token is not null && _token != token)
                return false;
            _token = token;
        }
        Access = granted.Access;
        if (!Identities.Contains(granted.Identity))
            Identities = [.. Identities, granted.Identity];
        if (!AclIds.Contains(granted.AclId))
            AclIds = [.. AclIds, granted.AclId];
        return true;
    }

    /// <summary>The identities a write's command carries for its ACL checks, or null when no node can need them.</summary>
    internal IReadOnlyList<AclId>? CallerFor(IReadOnlyList<TxnOp> ops)
    {
        if (ops.Any(o => o is SetAclOp or CreateOp { Acl: not null }))
            _sentAcl = true;
        return _sentAcl || AclIds.Any(id => id.Scheme != "ip") || AclsInUse() ? AclIds : null;
    }

    internal void Queue(IEnumerable<ZkReply> notifications) => _outbox.AddRange(notifications);

    /// <summary>
    /// Feeds one applied change, with the state it was applied to; the watches it fires queue their
    /// notifications, those the session may hear (<see cref="MayHear"/>).
    /// </summary>
    public void Observe(ChangeEvent change, RegistryStateMachine state)
    {
        foreach (var (type, path) in Watches.Fire(change))
        {
            if (MayHear(state, path))
                _outbox.Add(ZkReply.Notification(change.Index, type, path));
        }
    }

    /// <summary>
    /// Whether a notification for <paramref name="path"/> may reach this session. As ZooKeeper since
    /// CVE-2024-23944 (3.8.4, 3.9.2, and Debian's 3.8.0): only with READ on the node, so a watch on
    /// a readable parent (a recursive one above all) does not name the nodes below that the session
    /// may not read; and never a path the registry keeps from the session (<c>/mesh/ca</c>). ZooKeeper
    /// checks a deleted node's own ACL; the registry no longer has it when the change is delivered,
    /// so the deepest ancestor still there decides: a name under a parent the session may read is
    /// one getChildren would show it anyway.
    /// </summary>
    private bool MayHear(RegistryStateMachine state, string path)
    {
        if (Access.CanRead(path) is not null)
            return false;
        var node = state.GetAcl(path);
        while (node.Error == ErrorCode.NoNode && path != NodePath.Root)
        {
            path = NodePath.Parent(path);
            node = state.GetAcl(path);
        }
        return !node.IsOk || NodeAcl.Allows(node.Acl, AclPerms.Read, AclIds);
    }

    /// <param name="zxid">This node's applied index, for answers that do not read the tree.</param>
    public ZkStep Handle(ZkRequest request, long zxid)
    {
        var xid = request.Xid;
        if (ReadOnly && NeedsALeader(request.Op))
            return Fail(xid, zxid, ZkError.NotReadOnly);
        switch (request.Op)
        {
            case OpCode.Ping:
                return new ZkStep.Answer(new ZkReply(Xids.Ping, zxid, ZkError.Ok));
            case OpCode.CloseSession:
                return new ZkStep.CloseSession(xid);
            case OpCode.Auth:
                return new ZkStep.Authenticate((AuthPacket)request.Body!);
            case OpCode.WhoAmI:
                return new ZkStep.Answer(new ZkReply(xid, zxid, ZkError.Ok, new WhoAmIResponse(Identities)));
            case OpCode.Sync:
                var sync = ((PathRequest)request.Body!).Path;
                if ((Invalid(sync) ?? Access.CanRead(sync!)) is { } syncError)
                    return Fail(xid, zxid, syncError);
                return new ZkStep.Sync(xid, sync!);
            case OpCode.SetWatches or OpCode.SetWatches2:
                return new ZkStep.Read(state => ZkReads.SetWatches(this, state, xid, (SetWatchesRequest)request.Body!));
            case OpCode.AddWatch:
                return AddWatch(xid, zxid, (AddWatchRequest)request.Body!);
            case OpCode.RemoveWatches or OpCode.CheckWatches:
                var remove = (RemoveWatchesRequest)request.Body!;
                if (Invalid(remove.Path) is { } removeError)
                    return Fail(xid, zxid, removeError);
                var found = request.Op == OpCode.RemoveWatches
                    ? Watches.Remove(remove.Path!, (WatcherType)remove.Type)
                    : Watches.Has(remove.Path!, (WatcherType)remove.Type);
                return new ZkStep.Answer(new ZkReply(xid, zxid, found ? ZkError.Ok : ZkError.NoWatcher));
            case OpCode.GetAllChildrenNumber:
                return new ZkStep.Slices(new ZkDescendantCount(this, xid, ((PathRequest)request.Body!).Path).Next);
            case OpCode.Exists or OpCode.GetData or OpCode.GetChildren or OpCode.GetChildren2
                or OpCode.GetAcl or OpCode.GetEphemerals or OpCode.Check
                or OpCode.MultiRead:
                return new ZkStep.Read(state => ZkReads.Run(this, state, request));
            case var op when IsWrite(op):
                return ZkWrites.Plan(this, request, zxid);
            default:
                // reconfig, SASL, deleteContainer (ZooKeeper's reaper's own op) and unknown op codes.
                return Fail(xid, zxid, ZkError.Unimplemented);
        }
    }

    /// <summary>
    /// The ops that become a <see cref="ZkStep.Write"/> (or an error answer). Planning one reads
    /// nothing but the request and the session's access, so the edge may plan and propose it
    /// while earlier writes of the session are still in flight.
    /// </summary>
    public static bool IsWrite(OpCode op) =>
        op is OpCode.Create or OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl or OpCode.Delete or OpCode.SetData or OpCode.SetAcl or OpCode.Multi;

    // ZooKeeper's ReadOnlyRequestProcessor refuses the same ops (reconfig is Unimplemented here anyway).
    private static bool NeedsALeader(OpCode op) => IsWrite(op) || op is OpCode.Sync or OpCode.Check or OpCode.Reconfig;

    private ZkStep AddWatch(int xid, long zxid, AddWatchRequest add)
    {
        if ((Invalid(add.Path) ?? Access.CanRead(add.Path!)) is { } error)
            return Fail(xid, zxid, error);
        if (add.Mode is not ((int)AddWatchMode.Persistent or (int)AddWatchMode.PersistentRecursive))
            return Fail(xid, zxid, ZkError.BadArguments);
        return new ZkStep.Read(state =>
        {
            Watches.AddPersistent(add.Path!, state.AppliedIndex, add.Mode == (int)AddWatchMode.PersistentRecursive);
            return new ZkReply(xid, state.AppliedIndex, ZkError.Ok);
        });
    }

    /// <summary>BadArguments for a missing or invalid path (ZooKeeper checks paths before anything else).</summary>
    internal static ZkError? Invalid(string? path) => NodePath.IsValid(path) ? null : ZkError.BadArguments;

    internal static ZkStep Fail(int xid, long zxid, ZkError error) => new ZkStep.Answer(ZkReply.Fail(xid, zxid, error));
}

/// <summary>What an <c>addauth</c> granted: the session's access from then on, its <c>whoAmI</c> entry and its ACL identity.</summary>
/// <param name="Token">Which registry token granted it (a key that tells tokens apart), or null for a plain digest identity.</param>
public sealed record ZkAuthentication(IZkAccess Access, Protocol.Records.ClientInfo Identity, AclId AclId, string? Token = null);
