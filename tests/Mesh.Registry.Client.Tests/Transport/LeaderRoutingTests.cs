namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>A follower forwards a write and names the leader; the client's next writes skip the hop.</summary>
public sealed class LeaderRoutingTests
{
    [Fact]
    public async Task AfterAForwardedWrite_WritesGoToTheLeader_AndFollowTheNextLeaderAfterAFailover()
    {
        await using var cluster = await TestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        // The follower first: the client starts on it.
        using var client = ClusterClients.For([follower, .. cluster.Nodes.Where(n => n != follower).Select(n => n!)]);
        Assert.Null(client.LeaderEndpoint);

        await client.CreateAsync("/routing", [1]);
        Assert.Equal(leader.ClientUrl.Authority, client.LeaderEndpoint?.Authority);
        await client.SetAsync("/routing", [2]);

        // The leader goes away: the client forgets it, lands on a follower again and learns the new one.
        await cluster.StopNodeAsync(leader.Id);
        var next = await cluster.WaitForLeaderAsync();
        await client.SetAsync("/routing", [3]);
        await client.SetAsync("/routing", [4]);
        Assert.Equal(next.ClientUrl.Authority, client.LeaderEndpoint?.Authority);
        Assert.Equal([4], (await client.GetAsync("/routing")).Data);
    }
}
