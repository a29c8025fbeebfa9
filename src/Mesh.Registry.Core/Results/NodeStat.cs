namespace Mesh.Registry.Core.Results;

/// <summary>
/// A node's metadata, as the HTTP API shows it. Indexes are log indexes of the commands that
/// made the change; times are Unix milliseconds carried by those commands.
/// </summary>
/// <param name="Version">Number of data changes since creation (0 on create).</param>
/// <param name="ChildVersion">Number of child creations and deletions. The next sequential suffix counts creations only: (ChildVersion + NumChildren) / 2, as ZooKeeper numbers them.</param>
/// <param name="EphemeralOwner">Owning session id, 0 for persistent nodes.</param>
/// <param name="AclVersion">Number of ACL changes since creation (ZooKeeper's aversion).</param>
/// <param name="Kind">Container or TTL node (reaped by the leader once empty, docs/registry.md "Containers and TTL nodes"), or plain.</param>
/// <param name="TtlMs">A TTL node's TTL, 0 for other nodes.</param>
/// <param name="ChildModifiedIndex">Index of the last child creation or deletion (ZooKeeper's pzxid); the creation index until then.</param>
public readonly record struct NodeStat(
    long Version,
    long ChildVersion,
    long CreatedIndex,
    long ModifiedIndex,
    long CreatedTime,
    long ModifiedTime,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    long ChildModifiedIndex = 0,
    long AclVersion = 0,
    Tree.NodeKind Kind = Tree.NodeKind.Plain,
    long TtlMs = 0);
