// The built-in policy names (what `loadBalancing:` accepts) and the lookup by name.
using System.Collections.Frozen;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal static class LoadBalancingPolicies
{
    public const string WeightedRandom = "WeightedRandom";
    public const string RoundRobin = "RoundRobin";
    public const string LeastRequests = "LeastRequests";
    public const string PowerOfTwoChoices = "PowerOfTwoChoices";

    public static readonly IReadOnlyList<string> Names = [WeightedRandom, RoundRobin, LeastRequests, PowerOfTwoChoices];

    public static bool IsKnown(string name) => Names.Contains(name, StringComparer.OrdinalIgnoreCase);

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
