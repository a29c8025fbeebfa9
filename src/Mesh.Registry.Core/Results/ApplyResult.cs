using Mesh.Registry.Core.Events;

namespace Mesh.Registry.Core.Results;

/// <summary>
/// What applying one command produced. Only the members that make sense for the command are set:
/// <list type="bullet">
/// <item>create: <see cref="Path"/> (the created path) and <see cref="Stat"/>;</item>
/// <item>set: <see cref="Path"/> and <see cref="Stat"/>; delete: <see cref="Path"/>;</item>
/// <item>transaction: <see cref="OpResults"/> (one per op) and <see cref="FailedOp"/> (-1 when all succeeded);</item>
/// <item>open session / keep-alive / close: <see cref="SessionId"/> and <see cref="TtlMs"/>;</item>
/// <item>expire sessions: <see cref="ExpiredSessions"/> (ascending ids).</item>
/// </list>
/// <see cref="Events"/> are the changes the command made, all tagged with <see cref="Index"/>.
/// A replayed (deduplicated) result has <see cref="IsReplay"/> set, the original
/// <see cref="Index"/> and no events (they were emitted when it was first applied).
/// </summary>
public sealed record ApplyResult
{
    public required long Index { get; init; }

    public ErrorCode Error { get; init; }

    public string? Path { get; init; }

    public NodeStat Stat { get; init; }

    public long SessionId { get; init; }

    public long TtlMs { get; init; }

    public IReadOnlyList<OpResult> OpResults { get; init; } = [];

    public int FailedOp { get; init; } = -1;

    public IReadOnlyList<long> ExpiredSessions { get; init; } = [];

    public IReadOnlyList<ChangeEvent> Events { get; init; } = [];

    public bool IsReplay { get; init; }

    public bool IsOk => Error == ErrorCode.Ok;
}
