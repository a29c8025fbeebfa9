// The concrete stage of the outbound path: a route's backend by split weight (version), then an
// endpoint of it by the route's load-balancing policy. Allocation-free.
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;

namespace Mesh.Sidecar.Outbound;

internal sealed class EndpointPicker(Random random)
{
    /// <summary>
    /// Chooses a backend by split weight, then an endpoint by the route's policy. A backend with
    /// no healthy endpoint passes its share to the next one, so a dead canary does not fail calls.
    /// </summary>
    public EndpointState? Pick(CompiledRoute route, OutboundRequest? retrying, out ClusterState? cluster, out bool serviceKnown)
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
            // On a retry, prefer an endpoint this request has not tried yet.
            if (retrying is not null && retrying.HasTried(endpoint))
                endpoint = Untried(route, set, retrying) ?? endpoint;
            cluster = backend.Cluster;
            return endpoint;
        }
        cluster = null;
        return null;
    }

    private static EndpointState? Untried(CompiledRoute route, EndpointSet set, OutboundRequest retrying)
    {
        for (var i = 0; i < 2; i++)
        {
            var candidate = route.Policy.Pick(set);
            if (candidate is not null && !retrying.HasTried(candidate))
                return candidate;
        }
        foreach (var candidate in set.Endpoints)
        {
            if (!retrying.HasTried(candidate))
                return candidate;
        }
        return null;
    }
}
