using System.Net;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.ZooKeeper;
using Mesh.Registry.ZooKeeper.Forwarding;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>A follower's forwarding client against a real 3-node cluster's leader.</summary>
public sealed class ZkLeaderClientTests
{
    [Fact]
    public async Task WriteBatch_OverTheLeadersBodyLimit_IsRefusedAsNothingProposed_NotAsOutcomeUnknown()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var (_, index) = await cluster.CreateOnLeaderAsync("/target", "before");
        await cluster.WaitAppliedAsync(index);
        var follower = cluster.Follower().ZooKeeperServer!.Leader;

        var header = new CommandHeader(Guid.Empty, 0, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        byte[][] commands = [.. Enumerable.Range(0, 3).Select(_ => CommandCodec.Encode(new SetData(header, "/target", new byte[900 * 1024])))];
        var refused = await Assert.ThrowsAsync<ForwardTooLargeException>(() => follower.WriteBatchAsync(commands, CancellationToken.None));
        Assert.Contains("nothing was proposed", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, leader.Store.Read(s => s.GetNode("/target").Stat.Version));

        // One that fits goes through.
        var (applied, failure) = await follower.WriteBatchAsync([commands[0]], CancellationToken.None);
        Assert.Null(failure);
        Assert.True(Assert.Single(applied).IsOk);
    }

    [Fact]
    public async Task TryProposeHere_OnAFollower_ProposesNothingAndForwardsNothing()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower().ZooKeeperServer!.Leader;
        var header = new CommandHeader(Guid.Empty, 0, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());

        Assert.Null(follower.TryProposeHere(new CreateNode(header, "/never", ReadOnlyMemory<byte>.Empty), CancellationToken.None));

        var (_, index) = await cluster.CreateOnLeaderAsync("/after", "x");
        await cluster.WaitAppliedAsync(index);
        Assert.False(leader.Store.Read(s => s.Exists("/never").IsOk));
        var proposed = leader.ZooKeeperServer!.Leader.TryProposeHere(new CreateNode(header with { TimeMs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() }, "/here", ReadOnlyMemory<byte>.Empty), CancellationToken.None);
        Assert.NotNull(proposed);
        Assert.True((await proposed).IsOk);
    }
}
