// The runtime state every stage reads: the current route table (an immutable snapshot swapped
// whole on change), the route documents refused, readiness and draining flags.
using System.Collections.Immutable;
using Mesh.Sidecar.Outbound.Routing;

namespace Mesh.Sidecar.Outbound.Routing;

internal sealed class SidecarState
{
    private RouteTable _routes = RouteTable.Empty;
    private volatile bool _routesLoaded;
    private volatile bool _registered;
    private volatile bool _draining;

    public SidecarState(bool requireRegistration) => _registered = !requireRegistration;

    public RouteTable Routes => Volatile.Read(ref _routes);

    /// <summary>Route documents (or whole route sets) refused and not in effect: name → why.</summary>
    public ImmutableDictionary<string, string> RouteRejections { get; set; } = ImmutableDictionary<string, string>.Empty;

    public bool IsDraining => _draining;

    /// <summary>Ready: routes are loaded, the instance is registered (when required) and not draining.</summary>
    public bool IsReady => _routesLoaded && _registered && !_draining;

    public void SwapRoutes(RouteTable table)
    {
        Volatile.Write(ref _routes, table);
        _routesLoaded = true;
    }

    public void MarkRegistered(bool registered) => _registered = registered;

    public void StartDraining() => _draining = true;
}
