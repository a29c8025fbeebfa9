namespace Mesh.Registry.Core.Results;

/// <summary>
/// Outcome codes of commands and reads. Expected failures are values, never exceptions. The
/// numbers are stored in snapshots: never renumber, only append.
/// </summary>
public enum ErrorCode : byte
{
    Ok = 0,

    /// <summary>The node (or, on create, its parent) does not exist.</summary>
    NoNode = 1,

    /// <summary>Create on an existing path (the root always exists).</summary>
    NodeExists = 2,

    /// <summary>The expected version did not match the node's version.</summary>
    BadVersion = 3,

    /// <summary>Delete of a node with children without the recursive option.</summary>
    NotEmpty = 4,

    /// <summary>Create under an ephemeral node.</summary>
    NoChildrenForEphemerals = 5,

    /// <summary>The session does not exist (expired, closed or never opened).</summary>
    SessionExpired = 6,

    /// <summary>The path is not valid (see <see cref="Paths.NodePath.IsValid"/>), or is the root where the root is not allowed.</summary>
    InvalidPath = 7,

    /// <summary>Node data is over <see cref="Tree.NodeLimits.MaxDataBytes"/>.</summary>
    DataTooLarge = 8,

    /// <summary>A transaction op that did not fail itself but was undone because another op failed.</summary>
    RolledBack = 9,

    /// <summary>
    /// A request whose sequence number is lower than the last one applied for its client: it was
    /// superseded and its own result is no longer kept. Clients send writes one at a time per client id.
    /// </summary>
    StaleRequest = 10,

    /// <summary>The write would take its quota owner over <see cref="Quotas.Quota.MaxNodes"/>.</summary>
    NodeQuotaExceeded = 11,

    /// <summary>The write would take its quota owner over <see cref="Quotas.Quota.MaxBytes"/> of node data.</summary>
    ByteQuotaExceeded = 12,

    /// <summary>The session would take its quota owner over <see cref="Quotas.Quota.MaxSessions"/>.</summary>
    SessionQuotaExceeded = 13,

    /// <summary>The node's ACL does not give the write's caller the right it needs (<see cref="Commands.CommandHeader.Caller"/>).</summary>
    NoAuth = 14,

    /// <summary>A create whose TTL does not fit its mode (<see cref="Tree.NodeReaping.ValidTtl"/>), or an ephemeral container or TTL node.</summary>
    BadArguments = 15,
}
