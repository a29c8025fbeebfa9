// GET, POST, PUT and DELETE /v1/nodes/{path} (docs/registry-api.md, "Nodes").
namespace Mesh.Registry.Contracts;

/// <summary>
/// The metadata of a registry node, as the server reports it. <paramref name="Kind"/> is
/// <c>container</c> or <c>ttl</c> for the nodes the leader reaps once empty (made over the
/// ZooKeeper port, docs/zookeeper.md), with <paramref name="TtlMs"/> for a TTL node; both are left
/// out for other nodes.
/// </summary>
public sealed record NodeStat(
    long Version,
    long ChildVersion,
    long CreatedIndex,
    long ModifiedIndex,
    long CreatedTime,
    long ModifiedTime,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    string? Kind = null,
    long? TtlMs = null);

/// <summary><c>GET /v1/nodes/{path}</c> answer: the node's data (base64 in JSON) and stat.</summary>
public sealed record NodeResponse(string Path, ReadOnlyMemory<byte> Data, NodeStat Stat);

/// <summary>
/// <c>GET /v1/nodes/{path}?children=true</c> answer: the child names, sorted, and the node's stat;
/// with <c>data=true</c> also each child's data (base64 in JSON), in the order of the names.
/// </summary>
public sealed record ChildrenResponse(string Path, IReadOnlyList<string> Children, NodeStat Stat, IReadOnlyList<ReadOnlyMemory<byte>>? Data = null);

/// <summary>
/// The answer of a write: create and set name the path written (with its sequence suffix) and its
/// new stat; a delete answers with the index only.
/// </summary>
public sealed record WriteResponse(string? Path, NodeStat? Stat, long Index);
