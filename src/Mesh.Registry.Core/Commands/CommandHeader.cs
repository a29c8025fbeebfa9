namespace Mesh.Registry.Core.Commands;

/// <summary>
/// Carried by every command. <see cref="ClientId"/> and <see cref="Sequence"/> make retries
/// idempotent (<see cref="Guid.Empty"/> = no deduplication, e.g. for commands the server makes
/// itself). <see cref="TimeMs"/> is the Unix-millisecond time the leader stamped on the command;
/// it is the only clock the state machine knows.
/// </summary>
public readonly record struct CommandHeader(Guid ClientId, long Sequence, long TimeMs)
{
    /// <summary>
    /// Set on writes made with a join token: the namespace the created nodes and sessions count
    /// against, and its limits. A write that would take the owner over a limit fails with a quota
    /// error and changes nothing. Null: not counted, not limited (operators, the server itself).
    /// </summary>
    public Quotas.Quota? Quota { get; init; }

    /// <summary>
    /// Set on writes made over the ZooKeeper port once per-node ACLs matter: the identities of the
    /// session (<c>ip:ADDR</c>, <c>digest:USER:HASH</c>), which each op's node ACL must allow, or
    /// the op fails with <see cref="Results.ErrorCode.NoAuth"/>. Null: no ACL is checked (the HTTP
    /// API and the server itself decide access with the registry's token policy).
    /// </summary>
    public IReadOnlyList<Acls.AclId>? Caller { get; init; }

    /// <summary>A header without deduplication, for commands the server issues itself.</summary>
    public static CommandHeader At(long timeMs) => new(Guid.Empty, 0, timeMs);
}
