// Endpoints from sidecar.yaml where it names a service, from the registry for every other one:
// a static `endpoints:` entry is a local override (development, or a service outside the mesh).
using Mesh.Sidecar.Core;

namespace Mesh.Sidecar.Discovery;

internal sealed class LayeredEndpointSource(StaticEndpointSource local, IEndpointSource registry) : IEndpointSource
{
    public IReadOnlyCollection<string> KnownServices => local.KnownServices;

    public IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, CancellationToken cancellationToken) =>
        local.KnownServices.Contains(service)
            ? local.WatchAsync(service, cancellationToken)
            : registry.WatchAsync(service, cancellationToken);
}
