// The endpoint with the fewest requests in flight from this sidecar (O(n) scan; first wins ties).
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class LeastRequestsPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicyNames.LeastRequests;

    public EndpointState? Pick(EndpointSet endpoints)
    {
        var all = endpoints.Endpoints;
        if (all.Length == 0)
            return null;
        var best = all[0];
        for (var i = 1; i < all.Length; i++)
        {
            if (all[i].ActiveRequests < best.ActiveRequests)
                best = all[i];
        }
        return best;
    }
}
