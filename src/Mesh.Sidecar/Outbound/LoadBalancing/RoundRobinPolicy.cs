// Each endpoint in turn, ignoring weights.
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicyNames.RoundRobin;

    public EndpointState? Pick(EndpointSet endpoints)
    {
        if (endpoints.Count == 0)
            return null;
        var next = (uint)Interlocked.Increment(ref endpoints.RoundRobinCursor);
        return endpoints.Endpoints[next % (uint)endpoints.Count];
    }
}
