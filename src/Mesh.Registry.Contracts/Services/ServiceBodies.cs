// GET /v1/services and /v1/services/{name} (docs/registry-api.md, "Services"), and what a sidecar
// stores in its instance node, which the second one reads back.
namespace Mesh.Registry.Contracts;

/// <summary><c>GET /v1/services</c> answer: the service names.</summary>
public sealed record ServicesResponse(long Index, IReadOnlyList<string> Services);

/// <summary>
/// <c>GET /v1/services/{name}</c> answer. <see cref="Owner"/> is absent while nobody owns the name
/// (or its record is invalid): callers then expect their own namespace.
/// </summary>
public sealed record ServiceResponse(string Service, long Index, string? Owner, IReadOnlyList<ServiceInstanceResponse> Instances);

/// <summary>An instance: its id (the node name) and the fields of its <see cref="InstanceDocument"/>; absent fields stay absent.</summary>
public sealed record ServiceInstanceResponse(
    string Id,
    string? Address = null,
    int? Port = null,
    int? Weight = null,
    string? Version = null,
    string? Zone = null,
    IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>
/// The data of an instance node, <c>/services/{service}/instances/{id}</c>. A sidecar writes every
/// field (labels sorted); the server reads back what is there.
/// </summary>
public sealed record InstanceDocument(
    string? Address,
    int? Port,
    int? Weight,
    string? Version,
    string? Zone,
    IReadOnlyDictionary<string, string>? Labels);
