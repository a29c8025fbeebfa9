using System.Globalization;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Tests.Consensus.LogStore;

/// <summary>Three in-process nodes on the registry's own log (<c>--raft-log mesh</c>) over real sockets.</summary>
public sealed class MeshLogClusterTests
{
    [Fact]
    public async Task FollowerFarBehind_GetsTheLeadersSnapshotInstalled_AndReplicatesAfterIt()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 50, RaftLog = RaftLogKind.Mesh });
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var last = 0L;
        var first = "";
        for (var n = 0; n < 10; n++)
        {
            // Under load an election can rename a write (path-rN, see CreateOnLeaderAsync): read back what it made.
            var (path, index) = await cluster.CreateOnLeaderAsync($"/far/before{n}", "b");
            first = n == 0 ? path : first;
            last = index;
        }
        await cluster.WaitAppliedAsync(last);
        await cluster.StopNodeAsync(follower.Id);

        // Far behind: the leader compacts past everything the follower has, more than once.
        var paths = new List<string>();
        for (var n = 0; n < 240; n++)
        {
            var (path, index) = await cluster.CreateOnLeaderAsync($"/far/k{n}", "v" + n.ToString(CultureInfo.InvariantCulture));
            paths.Add(path);
            last = index;
        }
        var leaderSnapshots = SnapshotIndexes(cluster.OptionsOf(cluster.Nodes.First(n => n is { IsLeader: true })!.Id).DataDirectory);
        Assert.True(leaderSnapshots.Max() > 200, $"the leader's snapshots: {string.Join(", ", leaderSnapshots)}");

        await cluster.StartNodeAsync(follower.Id);
        await cluster.WaitAppliedAsync(last);
        var restarted = cluster.Nodes[follower.Id - 1]!;
        Assert.True(((RaftConsensus)restarted.Consensus).SnapshotsInstalled >= 1, "the follower caught up without the leader's snapshot");
        Assert.Contains(SnapshotIndexes(cluster.OptionsOf(follower.Id).DataDirectory), index => index >= leaderSnapshots.Max());
        Assert.Equal("v239", await cluster.Http.GetStringAsync(cluster.Url(restarted, $"/v1/nodes{paths[^1]}?raw=true&stale=true")));
        Assert.Equal("b", await cluster.Http.GetStringAsync(cluster.Url(restarted, $"/v1/nodes{first}?raw=true&stale=true")));

        // And it keeps replicating on top of the installed snapshot.
        var (after, afterIndex) = await cluster.CreateOnLeaderAsync("/far/after", "a");
        await cluster.WaitAppliedAsync(afterIndex);
        Assert.Equal("a", await cluster.Http.GetStringAsync(cluster.Url(restarted, $"/v1/nodes{after}?raw=true&stale=true")));
    }

    private static long[] SnapshotIndexes(string dataDirectory) =>
        Directory.GetFiles(Path.Combine(dataDirectory, "snapshots"), "*-*")
            .Select(f => Path.GetFileName(f))
            .Where(name => !name.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(name => long.Parse(name.AsSpan(0, name.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture))
            .ToArray();
}
