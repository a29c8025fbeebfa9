// The plug-in point for route documents. StaticRouteSource serves sidecar.yaml's `routes:`; a
// registry-backed source (watching /config/routes) plugs in here and parses each document with
// RouteDocumentParser, so a document means the same in the file and in the registry.
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Discovery;

/// <summary>
/// The complete set of routes at one moment, in match order. <paramref name="Rejected"/> names the
/// documents that were refused at this moment (document → why); their last good version, if any,
/// is still in <paramref name="Routes"/>.
/// </summary>
internal sealed record RouteSnapshot(long Index, IReadOnlyList<RouteConfig> Routes, IReadOnlyDictionary<string, string>? Rejected = null);

internal interface IRouteSource
{
    /// <summary>Streams complete route sets: the current one first, then one per change.</summary>
    IAsyncEnumerable<RouteSnapshot> WatchAsync(CancellationToken cancellationToken);
}
