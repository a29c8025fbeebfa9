// The concrete stage of the outbound path: a route's backend by split weight (version), then an
// endpoint of it by the route's load-balancing policy. Allocation-free.
using Mesh.Sidecar.LoadBalancing;
using Mesh.Sidecar.Routing;

namespace Mesh.Sidecar.Outbound;

internal sealed class EndpointPicker(Random random)
{
    /// <summary>
    /// Chooses a backend by split weight, then an endpoint by the route's policy. A backend with
    /// no healthy endpoint passes its share to the next one, so a dead canary does not fail calls.
    /// </summary>
    public EndpointState? Pick(CompiledRoute route, EndpointState? avoid, out ClusterState? cluster, out bool serviceKnown)
    {
        var backends = route.Backends;
        var start = backends.Length == 1 ? 0 : route.BackendIndexAtWeight(random.NextInt64(route.TotalBackendWeight));
        serviceKnown = false;
        for (var i = 0; i < backends.Length; i++)
        {
            var backend = backends[(start + i) % backends.Length];
            var snapshot = backend.Cluster.Snapshot;
            serviceKnown |= snapshot.IsKnown;
            var set = snapshot.Get(backend.Version);
            var endpoint = route.Policy.Pick(set);
            if (endpoint is null)
                continue;
            // On a retry, prefer another endpoint than the one that just failed.
            if (ReferenceEquals(endpoint, avoid) && set.Count > 1)
                endpoint = route.Policy.Pick(set) ?? endpoint;
            cluster = backend.Cluster;
            return endpoint;
        }
        cluster = null;
        return null;
    }
}
