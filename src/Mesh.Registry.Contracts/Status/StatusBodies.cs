// GET /v1/status, /healthz and /readyz (docs/registry-api.md, "Status").
using System.Text.Json.Serialization;

namespace Mesh.Registry.Contracts;

/// <summary>
/// <c>GET /v1/status</c> answer: this node's view of the cluster. <see cref="Leader"/> is null
/// (written, not left out) while no leader is known.
/// </summary>
public sealed record StatusResponse(
    int Id,
    string Role,
    long Term,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Leader,
    long CommitIndex,
    long AppliedIndex,
    IReadOnlyList<MemberStatus> Members);

/// <summary>
/// A member: <see cref="ClientUrl"/> is left out until known; <see cref="Lag"/> (committed entries
/// it has not applied) is null (written) when it did not answer.
/// </summary>
public sealed record MemberStatus(
    int Id,
    string Address,
    string? ClientUrl,
    bool Available,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? Lag);

/// <summary><c>GET /healthz</c> (<c>ok</c>) and <c>GET /readyz</c> (<c>ready</c>) answer.</summary>
public sealed record HealthResponse(string Status);
