// Endpoints from the registry: each watched service is a stream of the live instances under
// /services/{service}/instances, resumed by index after reconnects (RegistryWatches).
using System.Runtime.CompilerServices;
using Mesh.Registry.Client;
using Mesh.Sidecar.Core;

namespace Mesh.Sidecar.Discovery;

internal sealed class RegistryEndpointSource(RegistryClient client) : IEndpointSource
{
    /// <summary>The registry names services on demand: the sidecar watches those its routes name.</summary>
    public IReadOnlyCollection<string> KnownServices => [];

    public async IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var set in client.WatchServiceAsync(service, cancellationToken).ConfigureAwait(false))
            yield return ToEndpoints(set);
    }

    internal static ServiceEndpoints ToEndpoints(EndpointSet set) =>
        new(set.Service, set.Index, [.. set.Instances.Select(i => new MeshEndpoint
        {
            Id = i.Id,
            Address = i.Address,
            Port = i.Port,
            Weight = i.Weight,
            Version = i.Version,
            Zone = i.Zone,
            Labels = i.Labels,
            // Secure naming: the owner record, not the instance's own namespace label.
            IdentityNamespace = set.Owner,
        })]);
}
