// Two endpoints at random, the less busy one wins: near least-requests balance at O(1).
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class PowerOfTwoChoicesPolicy(Random random) : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicyNames.PowerOfTwoChoices;

    public EndpointState? Pick(EndpointSet endpoints)
    {
        var all = endpoints.Endpoints;
        switch (all.Length)
        {
            case 0:
                return null;
            case 1:
                return all[0];
        }
        var first = random.Next(all.Length);
        var second = random.Next(all.Length - 1);
        if (second >= first)
            second++;
        return all[first].ActiveRequests <= all[second].ActiveRequests ? all[first] : all[second];
    }
}
