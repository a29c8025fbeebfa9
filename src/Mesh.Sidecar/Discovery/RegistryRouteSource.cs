// Routes from the registry: every document under /config/routes, parsed exactly as an inline
// route is. A document that does not parse (one written around `mesh ctl apply`, which
// validates first) never replaces a good one: the sidecar keeps the last good version of that
// document and reports the problem in Errors and in the snapshot, which the host logs and shows
// in /config_dump (`routeErrors`) and the `mesh_sidecar_config_routes_rejected` gauge.
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Discovery;

public sealed class RegistryRouteSource(RegistryClient client, IReadOnlyList<RouteConfig> inlineRoutes) : IRouteSource
{
    private ImmutableDictionary<string, string> _errors = ImmutableDictionary<string, string>.Empty;

    /// <summary>Documents refused at the last change, by name, with why.</summary>
    public IReadOnlyDictionary<string, string> Errors => _errors;

    public async IAsyncEnumerable<RouteSnapshot> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lastGood = new Dictionary<string, (byte[] Raw, RouteConfig Route)>(StringComparer.Ordinal);
        await foreach (var snapshot in client.WatchConfigAsync(ServicePaths.RoutesRoot, cancellationToken).ConfigureAwait(false))
        {
            var errors = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            var current = new Dictionary<string, (byte[] Raw, RouteConfig Route)>(StringComparer.Ordinal);
            foreach (var (name, raw) in snapshot.Documents)
            {
                if (lastGood.TryGetValue(name, out var known) && known.Raw.AsSpan().SequenceEqual(raw))
                {
                    current[name] = known;
                    continue;
                }

                try
                {
                    var route = SidecarConfigLoader.ParseRoute(Encoding.UTF8.GetString(raw), $"{ServicePaths.RoutesRoot}/{name}", name);
                    current[name] = (raw, route);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever a document holds, it is refused alone: the watch never dies of one.
                    errors[name] = ex is SidecarConfigException ? ex.Message : $"{ServicePaths.RoutesRoot}/{name}: unreadable document: {ex.Message}";
                    if (lastGood.TryGetValue(name, out var previous))
                        current[name] = previous;
                }
            }

            lastGood = current;
            _errors = errors.ToImmutable();
            // Inline routes first (the file is the operator's local override), then the registry's by name.
            yield return new RouteSnapshot(snapshot.Index, [.. inlineRoutes, .. current.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value.Route)], _errors);
        }
    }
}
