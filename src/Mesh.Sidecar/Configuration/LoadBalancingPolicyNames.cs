// The built-in load-balancing policy names: what `loadBalancing:` accepts. The policies
// themselves are in Outbound/LoadBalancing; the readers check names against this list.
namespace Mesh.Sidecar.Configuration;

internal static class LoadBalancingPolicyNames
{
    public const string WeightedRandom = "WeightedRandom";
    public const string RoundRobin = "RoundRobin";
    public const string LeastRequests = "LeastRequests";
    public const string PowerOfTwoChoices = "PowerOfTwoChoices";

    public static readonly IReadOnlyList<string> Names = [WeightedRandom, RoundRobin, LeastRequests, PowerOfTwoChoices];

    public static bool IsKnown(string name) => Names.Contains(name, StringComparer.OrdinalIgnoreCase);
}
