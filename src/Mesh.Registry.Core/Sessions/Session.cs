namespace Mesh.Registry.Core.Sessions;

/// <summary>A live session (mutable, owned by the state machine) and the paths of its ephemeral nodes.</summary>
internal sealed class Session(long id, long ttlMs, long deadlineMs)
{
    public long Id { get; } = id;

    public long TtlMs { get; } = ttlMs;

    public long DeadlineMs { get; set; } = deadlineMs;

    public HashSet<string> Ephemerals { get; } = new(StringComparer.Ordinal);

    public SessionInfo ToInfo() => new(Id, TtlMs, DeadlineMs, Ephemerals.Count);
}
