using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Tests.TestSupport;

namespace Mesh.Sidecar.Tests.Outbound.LoadBalancing;

public sealed class LoadBalancingPolicyTests
{
    private static EndpointState Endpoint(string id, int weight, string version = "v1") =>
        new(new MeshEndpoint { Id = id, Address = "10.0.0.1", Port = 80, Weight = weight, Version = version });

    [Fact]
    public void PickDestination_WeightedRandom_Weights1To3_FollowsWeights()
    {
        var set = new EndpointSet([Endpoint("a", 1), Endpoint("b", 3)]);
        var policy = new WeightedRandomPolicy(new Random(1234));
        long a = 0, b = 0;

        for (var i = 0; i < 10_000; i++)
        {
            if (policy.Pick(set)!.Endpoint.Id == "a")
                a++;
            else
                b++;
        }

        Assert.True(ChiSquare.Statistic([a, b], [1, 3]) < ChiSquare.Critical(1), $"a={a} b={b}");
    }

    [Fact]
    public void PickDestination_WeightedRandom_ZeroWeightGetsNothing()
    {
        var set = new EndpointSet([Endpoint("a", 0), Endpoint("b", 5), Endpoint("c", 5)]);
        var policy = new WeightedRandomPolicy(new Random(1));

        var picked = Enumerable.Range(0, 1000).Select(_ => policy.Pick(set)!.Endpoint.Id).ToHashSet();

        Assert.Equal(["b", "c"], picked.Order());
    }

    [Fact]
    public void PickDestination_WeightedRandom_DoesNotAllocate()
    {
        var set = new EndpointSet([.. Enumerable.Range(0, 50).Select(i => Endpoint("e" + i, i + 1))]);
        var policy = new WeightedRandomPolicy(new Random(1));
        policy.Pick(set);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            policy.Pick(set);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void PickDestination_RoundRobin_CyclesThroughAll()
    {
        var set = new EndpointSet([Endpoint("a", 1), Endpoint("b", 1), Endpoint("c", 1)]);
        var policy = new RoundRobinPolicy();

        var picks = Enumerable.Range(0, 6).Select(_ => policy.Pick(set)!.Endpoint.Id).ToList();

        Assert.Equal(2, picks.Count(p => p == "a"));
        Assert.Equal(2, picks.Count(p => p == "b"));
        Assert.Equal(2, picks.Count(p => p == "c"));
    }

    [Fact]
    public void PickDestination_LeastRequests_PicksLeastBusy()
    {
        var busy = Endpoint("busy", 1);
        var idle = Endpoint("idle", 1);
        busy.ActiveRequests = 5;
        idle.ActiveRequests = 1;

        Assert.Same(idle, new LeastRequestsPolicy().Pick(new EndpointSet([busy, idle])));
    }

    [Fact]
    public void PickDestination_PowerOfTwoChoices_SkipsBusiestDestination()
    {
        var busy = Endpoint("busy", 1);
        var idle = Endpoint("idle", 1);
        busy.ActiveRequests = 10;
        var policy = new PowerOfTwoChoicesPolicy(new Random(7));

        for (var i = 0; i < 100; i++)
            Assert.Same(idle, policy.Pick(new EndpointSet([busy, idle])));
    }

    [Fact]
    public void CreateAll_LooksUpEveryNameCaseInsensitively()
    {
        var policies = LoadBalancingPolicies.CreateAll(new Random(1));

        foreach (var name in LoadBalancingPolicyNames.Names)
            Assert.Equal(name, policies[name.ToLowerInvariant()].Name);
        Assert.Null(new WeightedRandomPolicy(new Random(1)).Pick(EndpointSet.Empty));
    }
}
