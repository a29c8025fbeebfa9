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
    IReadOnlyDictionary<string, string>? Labels = null)
{
    /// <summary>
    /// The instance as listed from its node's data, an <see cref="InstanceDocument"/>. Data that is
    /// not such a document (not JSON, or a field of the wrong type) lists the id only. The server
    /// lists instances with it, and a client applies a streamed instance change with it.
    /// </summary>
    public static ServiceInstanceResponse Of(string id, ReadOnlySpan<byte> data)
    {
        InstanceDocument? document;
        try
        {
            document = System.Text.Json.JsonSerializer.Deserialize(data, RegistryJson.Default.InstanceDocument);
        }
        catch (System.Text.Json.JsonException)
        {
            document = null;
        }
        return document is null
            ? new ServiceInstanceResponse(id)
            : new ServiceInstanceResponse(id, document.Address, document.Port, document.Weight, document.Version, document.Zone, document.Labels);
    }
}

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
