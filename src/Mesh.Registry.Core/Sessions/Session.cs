namespace Mesh.Registry.Core.Sessions;

/// <summary>A live session (mutable, owned by the state machine) and the paths of its ephemeral nodes.</summary>
internal sealed class Session(long id, long ttlMs, long deadlineMs, string? owner = null)
{
    /// <summary>The quota owner (namespace) that opened this session, or null.</summary>
    public string? Owner { get; } = owner;

    public long Id { get; } = id;

    public long TtlMs { get; } = ttlMs;

    public long DeadlineMs { get; set; } = deadlineMs;

    public HashSet<string> Ephemerals { get; } = new(StringComparer.Ordinal);

    public SessionInfo ToInfo() => new(Id, TtlMs, DeadlineMs, Ephemerals.Count, Owner);
}
