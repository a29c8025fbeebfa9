// The plug-in point for endpoint discovery. StaticEndpointSource serves sidecar.yaml's
// `endpoints:`; a registry-backed source (watching /services/{service}/instances) plugs in here.
using Mesh.Sidecar.Core;

namespace Mesh.Sidecar.Discovery;

internal interface IEndpointSource
{
    /// <summary>
    /// Streams snapshots of <paramref name="service"/>: the current one first (as soon as known),
    /// then one per change, until <paramref name="cancellationToken"/> fires. A service that does
    /// not exist yields an empty snapshot or nothing; the sidecar treats both as unknown.
    /// Implementations resume after reconnects themselves and never end the stream on a
    /// transient failure.
    /// </summary>
    IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, CancellationToken cancellationToken);

    /// <summary>Services this source knows without being asked (the sidecar watches them all).</summary>
    IReadOnlyCollection<string> KnownServices { get; }
}
