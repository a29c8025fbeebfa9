using System.Globalization;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Mesh.Registry.Hosting;
using Mesh.Registry.Tests.Watches;

namespace Mesh.Registry.Tests.Consensus.LogStore;

/// <summary>Three in-process nodes on the registry's own log (<c>--raft-log mesh</c>) over real sockets.</summary>
public sealed class MeshLogClusterTests
{
    [Fact]
    public async Task FollowerFartherBehindThanTheKeptTail_GetsTheLeadersSnapshotInstalled_AndReplicatesAfterIt()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 50, SnapshotKeep = 20, RaftLog = RaftLogKind.Mesh });
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

    [Theory]
    [InlineData(200, false)]
    [InlineData(0, true)]
    public async Task FollowerBehindWhenTheLeaderSnapshots_WithinTheKeptTail_GetsEntriesAndItsWatchStreamCarriesOn_OtherwiseTheSnapshot(int keep, bool snapshotSent)
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            SnapshotEvery = 50,
            SnapshotKeep = keep,
            RaftLog = RaftLogKind.Mesh,
            Limits = o.Limits with { WatchProgressInterval = TimeSpan.FromMilliseconds(100) },
        });
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var (_, start) = await cluster.CreateOnLeaderAsync("/tail", "");
        await cluster.WaitAppliedAsync(start);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await using var stream = await WatchStreamReader.OpenAsync(http, follower.ClientUrl, $"prefix=/tail&after={start}");
        Assert.Equal(WatchStreamRecord.Progress, (await stream.NextAsync())!.Type);

        // The follower stays up and hears the leader, but takes neither entries nor a snapshot while the leader snapshots.
        var raft = (RaftConsensus)follower.Consensus;
        raft.RefuseReplication(true);
        var paths = new List<string>();
        var last = 0L;
        for (var n = 0; n < 60; n++)
        {
            var (path, index) = await cluster.CreateOnLeaderAsync($"/tail/k{n}", "v");
            paths.Add(path);
            last = index;
        }
        var leaderLog = ((RaftConsensus)(await cluster.WaitForLeaderAsync()).Consensus).LogStart!.Value;
        Assert.True(leaderLog.SnapshotIndex > follower.Consensus.AppliedIndex,
            $"the leader's snapshot {leaderLog.SnapshotIndex} is not past the follower's applied index {follower.Consensus.AppliedIndex}");
        raft.RefuseReplication(false);
        await cluster.WaitAppliedAsync(last);

        if (snapshotSent)
        {
            Assert.True(raft.SnapshotsInstalled >= 1, "the follower was not sent the leader's snapshot");
            Assert.True(await InstalledSnapshotsMetricAsync(cluster, follower) >= 1, "the follower's /metrics does not count the install");
            var ended = await stream.UntilAsync(r => r.Type == WatchStreamRecord.Resume);
            Assert.Contains("installed a snapshot", ended[^1].Message, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(0, raft.SnapshotsInstalled);
        Assert.Equal(0, await InstalledSnapshotsMetricAsync(cluster, follower));
        var records = await stream.UntilAsync(r => r.Type == WatchStreamRecord.Progress && r.Index >= last);
        Assert.DoesNotContain(records, r => r.Type == WatchStreamRecord.Resume);
        // Every write reached the stream once. (Under load CreateOnLeaderAsync can retry a write under a
        // new name while its first attempt lands too, so the stream may hold a name more than was asked.)
        var created = records.Where(r => r.Type == ChangeEvent.Created).Select(r => r.Path!).ToList();
        Assert.Equal(created.Count, created.Distinct().Count());
        Assert.All(paths, path => Assert.Contains(path, created));
    }

    [Fact]
    public async Task FullRestart_AfterSnapshotsWithATailKept_RecoversEveryAcknowledgedWrite()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 40, SnapshotKeep = 25, RaftLog = RaftLogKind.Mesh });
        await cluster.WaitForLeaderAsync();
        var written = new List<(string Path, string Value)>();
        var last = 0L;
        for (var n = 0; n < 130; n++)
        {
            var value = "value" + n.ToString(CultureInfo.InvariantCulture);
            var (path, index) = await cluster.CreateOnLeaderAsync($"/keep/k{n}", value);
            written.Add((path, value));
            last = index;
        }
        await cluster.WaitAppliedAsync(last);
        var before = cluster.Nodes.Select(n => LogStart(n!, 25)).ToArray();
        Assert.Contains(before, start => start.FirstEntryIndex <= start.SnapshotIndex);

        for (var id = 1; id <= 3; id++)
            await cluster.StopNodeAsync(id);
        await Task.WhenAll(Enumerable.Range(1, 3).Select(cluster.StartNodeAsync));
        await cluster.WaitForLeaderAsync();
        await cluster.WaitAppliedAsync(last);

        foreach (var node in cluster.Nodes)
        {
            // Recovery keeps the tail as it was (unless the node took another snapshot since).
            var start = LogStart(node!, 25);
            if (start.SnapshotIndex == before[node!.Id - 1].SnapshotIndex)
                Assert.Equal(before[node.Id - 1].FirstEntryIndex, start.FirstEntryIndex);
            foreach (var (path, value) in written)
                Assert.Equal(value, await cluster.Http.GetStringAsync(cluster.Url(node!, $"/v1/nodes{path}?raw=true&stale=true")));
        }
        // And the cluster takes writes again, on top of the recovered log.
        var (after, afterIndex) = await cluster.CreateOnLeaderAsync("/keep/after", "a");
        await cluster.WaitAppliedAsync(afterIndex);
        foreach (var node in cluster.Nodes)
            Assert.Equal("a", await cluster.Http.GetStringAsync(cluster.Url(node!, $"/v1/nodes{after}?raw=true&stale=true")));
    }

    /// <summary>The node's <c>mesh_registry_snapshot_installed_total</c> as its <c>/metrics</c> exports it.</summary>
    private static async Task<long> InstalledSnapshotsMetricAsync(TestCluster cluster, RegistryNode node)
    {
        var text = await cluster.Http.GetStringAsync(cluster.Url(node, "/metrics"));
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith("mesh_registry_snapshot_installed_total{", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException("mesh_registry_snapshot_installed_total is not exported");
        return long.Parse(line.AsSpan(line.LastIndexOf(' ') + 1), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The node's snapshot index and first entry, checked: past a few snapshots, and at most
    /// <paramref name="keep"/> entries kept before the snapshot (fewer on a node that installed one
    /// from the leader since: its log starts after that snapshot).
    /// </summary>
    private static (long SnapshotIndex, long FirstEntryIndex) LogStart(RegistryNode node, long keep)
    {
        var (snapshotIndex, firstEntryIndex) = ((RaftConsensus)node.Consensus).LogStart!.Value;
        Assert.True(snapshotIndex >= 80, $"node {node.Id}: snapshot at {snapshotIndex}");
        Assert.InRange(firstEntryIndex, snapshotIndex - keep + 1, snapshotIndex + 1);
        return (snapshotIndex, firstEntryIndex);
    }

    private static long[] SnapshotIndexes(string dataDirectory) =>
        Directory.GetFiles(Path.Combine(dataDirectory, "snapshots"), "*-*")
            .Select(f => Path.GetFileName(f))
            .Where(name => !name.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(name => long.Parse(name.AsSpan(0, name.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture))
            .ToArray();
}
