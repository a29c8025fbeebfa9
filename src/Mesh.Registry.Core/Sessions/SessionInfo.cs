namespace Mesh.Registry.Core.Sessions;

/// <summary>
/// A session as readers see it. It expires at the first ExpireSessions whose time is ≥ <see cref="DeadlineMs"/>.
/// <see cref="Owner"/> is the quota owner (a join token's namespace) that opened it, or null for an operator's.
/// </summary>
public readonly record struct SessionInfo(long Id, long TtlMs, long DeadlineMs, int EphemeralCount, string? Owner = null);
