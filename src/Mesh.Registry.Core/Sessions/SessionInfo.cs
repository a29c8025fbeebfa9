namespace Mesh.Registry.Core.Sessions;

/// <summary>A session as readers see it. It expires at the first ExpireSessions whose time is ≥ <see cref="DeadlineMs"/>.</summary>
public readonly record struct SessionInfo(long Id, long TtlMs, long DeadlineMs, int EphemeralCount);
