// What discovery tells the sidecar about a service: an immutable snapshot of its instances,
// replaced whole on every change. The registry stores each instance at
// /services/{service}/instances/{id} as JSON {address, port, weight, version, zone, labels}.
namespace Mesh.Sidecar.Core;

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

    /// <summary>
    /// The namespace whose identity this endpoint must present over mTLS, as vouched for by the
    /// endpoint source from a record the instance cannot write itself: the registry's owner record
    /// of the service (secure naming), or the operator's own sidecar.yaml. Null: the caller's
    /// namespace. Never taken from the instance's labels.
    /// </summary>
    public string? IdentityNamespace { get; init; }

    /// <summary>
    /// An endpoint label naming the destination's namespace. Informational on registered instances
    /// (an instance cannot vouch for itself: callers expect the owner record's namespace); in a
    /// sidecar.yaml `endpoints:` entry it names the peer's namespace (<see cref="IdentityNamespace"/>).
    /// </summary>
    public const string NamespaceLabel = "namespace";

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}
