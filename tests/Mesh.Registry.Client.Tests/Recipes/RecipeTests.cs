using Mesh.Registry.Client.Recipes;

namespace Mesh.Registry.Client.Tests.Recipes;

public sealed class RecipeTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Lock_IsHeldByOneAtATime_AndPassesOnWhenTheHolderDies()
    {
        using var client = ClusterClients.For(_cluster);
        var holder = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(2));
        await using var waiterSession = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(5));
        var held = await DistributedLock.AcquireAsync(holder, "orders", owner: "a");

        var waiting = DistributedLock.AcquireAsync(waiterSession, "orders", owner: "b");
        await Task.Delay(500);
        Assert.False(waiting.IsCompleted, "a second holder got the lock while the first held it");

        await holder.AbandonAsync(); // the holder's process dies: no release, its session runs out
        await using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(await client.ExistsAsync(held.Path));
    }

    [Fact]
    public async Task Lock_ReleasedByDispose_GoesToTheNextInLine()
    {
        using var client = ClusterClients.For(_cluster);
        await using var a = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(5));
        await using var b = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(5));
        var first = await DistributedLock.AcquireAsync(a, "jobs");
        var second = DistributedLock.AcquireAsync(b, "jobs");

        await first.DisposeAsync();

        await using var next = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(await client.ExistsAsync(first.Path));
    }

    [Fact]
    public async Task Election_ElectsTheFirst_AndTheNextWhenTheLeaderDies()
    {
        using var client = ClusterClients.For(_cluster);
        var one = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(2));
        await using var two = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(5));

        await LeaderElection.CampaignAsync(one, "scheduler", "node-1");
        Assert.Equal("node-1", await LeaderElection.GetLeaderAsync(client, "scheduler"));
        var candidate = LeaderElection.CampaignAsync(two, "scheduler", "node-2");
        await Task.Delay(300);
        Assert.False(candidate.IsCompleted);

        await one.AbandonAsync();
        await using var next = await candidate.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("node-2", await LeaderElection.GetLeaderAsync(client, "scheduler"));
    }
}
