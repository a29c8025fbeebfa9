using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Commands;

/// <summary>
/// A replicated write. Commands are immutable; the state machine keeps the <c>Data</c> memory
/// they carry as node data without copying, so never write to a buffer after putting it in a
/// command (<see cref="CommandCodec.Decode(ReadOnlySpan{byte})"/> gives every command its own arrays).
/// </summary>
public abstract record Command(CommandHeader Header);

/// <summary>
/// Creates a node. <paramref name="SessionId"/> is required for ephemeral modes; <paramref name="CreateParents"/> creates missing parents as empty persistent nodes
/// (with the same ACL). <paramref name="Acl"/> null is the open ACL (<see cref="NodeAcl"/>). <paramref name="TtlMs"/> is the TTL of the
/// TTL modes (<see cref="NodeReaping.ValidTtl"/>), 0 for the others.
/// </summary>
public sealed record CreateNode(
    CommandHeader Header,
    string Path,
    ReadOnlyMemory<byte> Data,
    CreateMode Mode = CreateMode.Persistent,
    long SessionId = 0,
    bool CreateParents = false,
    IReadOnlyList<AclEntry>? Acl = null,
    long TtlMs = 0) : Command(Header);

/// <summary>Replaces a node's data. <paramref name="ExpectedVersion"/> -1 = any version.</summary>
public sealed record SetData(CommandHeader Header, string Path, ReadOnlyMemory<byte> Data, long ExpectedVersion = -1) : Command(Header);

/// <summary>Deletes a node (and with <paramref name="Recursive"/> everything below it). The version check applies to the node itself.</summary>
public sealed record DeleteNode(CommandHeader Header, string Path, long ExpectedVersion = -1, bool Recursive = false) : Command(Header);

/// <summary>All-or-nothing ops, applied in order; each op sees the effects of the ones before it.</summary>
public sealed record Transaction(CommandHeader Header, IReadOnlyList<TxnOp> Ops) : Command(Header);

/// <summary>Opens a session; its id is the command's log index. The TTL is clamped to <see cref="Sessions.SessionLimits"/>.</summary>
public sealed record OpenSession(CommandHeader Header, long TtlMs) : Command(Header);

/// <summary>Moves the session's deadline to command time + TTL.</summary>
public sealed record KeepAlive(CommandHeader Header, long SessionId) : Command(Header);

/// <summary>
/// Moves the deadline of every live session in <paramref name="SessionIds"/> to command time + its
/// TTL, and ignores the ones that no longer exist. A node gathers the keep-alives it serves for a
/// short interval and proposes them as one of these (docs/registry.md, "Sessions"), so renewal
/// costs one log entry per node and interval, not one per session.
/// </summary>
public sealed record KeepAliveMany(CommandHeader Header, IReadOnlyList<long> SessionIds) : Command(Header)
{
    /// <summary>Session ids in one command, at most: ~5 bytes each, so a command stays near 50 KB.</summary>
    public const int MaxSessions = 10_000;
}

/// <summary>Closes the session and deletes its ephemeral nodes in the same command.</summary>
public sealed record CloseSession(CommandHeader Header, long SessionId) : Command(Header);

/// <summary>
/// Expires exactly the sessions whose deadline is ≤ <paramref name="NowMs"/> (deleting their
/// ephemeral nodes), and forgets deduplication entries of clients idle for longer than
/// <see cref="RegistryStateMachine.ClientIdleLimitMs"/>. The leader proposes it periodically with
/// its clock; every replica applies the same value, so all agree on what expired.
/// </summary>
public sealed record ExpireSessions(CommandHeader Header, long NowMs) : Command(Header);

/// <summary>
/// Sets every session's deadline to <paramref name="NowMs"/> + its TTL. A new leader proposes
/// this once, before its first <see cref="ExpireSessions"/>, so time spent electing it (when
/// nobody could send keep-alives) never expires a healthy session.
/// </summary>
public sealed record ResetSessionDeadlines(CommandHeader Header, long NowMs) : Command(Header);

/// <summary>
/// Deletes each of <paramref name="Nodes"/> that is still the container or TTL node the leader's
/// reaper saw (same creation index, version and child version) and still has no children; the
/// others are kept. Each node on its own, not all or nothing. The leader decides what is due with
/// its clock (<see cref="RegistryStateMachine.FindReapable"/>); every replica applies the same
/// conditions, so they agree on what was deleted, and a node that got a child or new data
/// meanwhile stays.
/// </summary>
public sealed record ReapNodes(CommandHeader Header, IReadOnlyList<ReapCandidate> Nodes) : Command(Header)
{
    /// <summary>Nodes in one command, at most.</summary>
    public const int MaxNodes = 1_000;
}

/// <summary>A node the reaper found due, as it was then.</summary>
public readonly record struct ReapCandidate(string Path, long CreatedIndex, long Version, long ChildVersion);

/// <summary>One op of a <see cref="Transaction"/>.</summary>
public abstract record TxnOp(string Path);

/// <summary>Succeeds when the node exists and (unless -1) has <paramref name="ExpectedVersion"/>.</summary>
public sealed record CheckVersionOp(string Path, long ExpectedVersion) : TxnOp(Path);

public sealed record CreateOp(
    string Path,
    ReadOnlyMemory<byte> Data,
    CreateMode Mode = CreateMode.Persistent,
    long SessionId = 0,
    bool CreateParents = false,
    IReadOnlyList<AclEntry>? Acl = null,
    long TtlMs = 0) : TxnOp(Path);

public sealed record SetDataOp(string Path, ReadOnlyMemory<byte> Data, long ExpectedVersion = -1) : TxnOp(Path);

public sealed record DeleteOp(string Path, long ExpectedVersion = -1, bool Recursive = false) : TxnOp(Path);

/// <summary>Replaces a node's ACL (null: the open ACL) and bumps its ACL version; <paramref name="ExpectedVersion"/> (-1 = any) is checked against the ACL version, as ZooKeeper's setACL does.</summary>
public sealed record SetAclOp(string Path, IReadOnlyList<AclEntry>? Acl, long ExpectedVersion = -1) : TxnOp(Path);
