// What discovery tells the sidecar about a service: an immutable snapshot of its instances,
// replaced whole on every change. The registry stores each instance at
// /services/{service}/instances/{id} as JSON {address, port, weight, version, zone, labels}.
namespace Mesh.Sidecar.Discovery;

public sealed record ServiceEndpoints(string Service, long Index, IReadOnlyList<MeshEndpoint> Endpoints);

public sealed record MeshEndpoint
{
    /// <summary>Instance id, unique within its service (the registry node name).</summary>
    public required string Id { get; init; }
    public required string Address { get; init; }
    public required int Port { get; init; }
    /// <summary>Relative weight for weighted random choice; 0 receives no traffic.</summary>
    public int Weight { get; init; } = 100;
    public string Version { get; init; } = "";
    public string Zone { get; init; } = "";
    public IReadOnlyDictionary<string, string> Labels { get; init; } = Empty;

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}
