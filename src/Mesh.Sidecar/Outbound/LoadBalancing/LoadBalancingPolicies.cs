// The built-in policies by name (the names are Configuration's LoadBalancingPolicyNames).
using System.Collections.Frozen;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal static class LoadBalancingPolicies
{
    /// <summary>One instance of each built-in policy, sharing <paramref name="random"/>.</summary>
    public static FrozenDictionary<string, ILoadBalancingPolicy> CreateAll(Random random) =>
        new ILoadBalancingPolicy[]
        {
            new WeightedRandomPolicy(random),
            new RoundRobinPolicy(),
            new LeastRequestsPolicy(),
            new PowerOfTwoChoicesPolicy(random),
        }.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
}
