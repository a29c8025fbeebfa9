// /v1/sessions (docs/registry-api.md, "Sessions").
namespace Mesh.Registry.Contracts;

/// <summary><c>POST /v1/sessions</c> body (optional): the session's time to live, clamped by the server.</summary>
public sealed record SessionOpenRequest(long? TtlMs);

/// <summary>
/// <c>POST /v1/sessions</c> answer (with the <see cref="Index"/> of the open), and
/// <c>PUT /v1/sessions/{id}/keepalive</c> answer (without it).
/// </summary>
public sealed record SessionResponse(long Id, long TtlMs, long? Index = null);

/// <summary><c>GET /v1/sessions</c> answer.</summary>
public sealed record SessionListResponse(IReadOnlyList<SessionInfo> Sessions);

/// <summary>A live session and how many ephemeral nodes it owns.</summary>
public sealed record SessionInfo(long Id, long TtlMs, int EphemeralCount);
