// Quotas: what one owner (a join token's namespace) may hold in the tree. The limits travel in
// the command itself (CommandHeader.Quota), so every replica checks the same numbers against
// the same usage and the outcome is deterministic without replicating any configuration.
namespace Mesh.Registry.Core.Quotas;

/// <summary>The owner a write is made for and the most that owner may hold afterwards.</summary>
public sealed record Quota(string Owner, long MaxNodes, long MaxBytes, long MaxSessions);

/// <summary>What an owner holds: nodes it created, the bytes of their data, and its live sessions.</summary>
public readonly record struct QuotaUsage(long Nodes, long Bytes, long Sessions);
