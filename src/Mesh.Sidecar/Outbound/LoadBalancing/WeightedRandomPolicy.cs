// The default policy: each endpoint gets traffic in proportion to its registered weight.
// O(log n) per pick over weights precomputed per snapshot; no allocation.
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class WeightedRandomPolicy(Random random) : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicyNames.WeightedRandom;

    public EndpointState? Pick(EndpointSet endpoints) => endpoints.Count switch
    {
        0 => null,
        1 => endpoints.Endpoints[0],
        _ => endpoints.AtWeight(random.NextInt64(endpoints.TotalWeight)),
    };
}
