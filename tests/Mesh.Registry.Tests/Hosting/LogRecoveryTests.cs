using System.Net;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Tests.Hosting;

public sealed class LogRecoveryTests
{
    [Fact]
    public void TheLogsBackgroundFailure_IsObservable_InThisDotNextVersion()
    {
        // The recovery below reads a private field of DotNext's WriteAheadLog; an upgrade that
        // renames it must fail here, not silently turn the recovery off.
        Assert.True(DurableWriteAheadLog.CanObserveFailures);
    }

    [Fact]
    public async Task FollowerWhoseLogStopsWriting_ReopensItFromDisk_AndCatchesUp()
    {
        // DotNext's log only: the registry's own log has no background flusher to die.
        await using var cluster = await TestCluster.StartAsync(configure: o => o with { SnapshotEvery = 30, RaftLog = RaftLogKind.DotNext });
        await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();
        var written = new List<(string Path, string Value)>();
        async Task<long> WriteAsync()
        {
            var value = $"v{written.Count}";
            var (path, index) = await cluster.CreateOnLeaderAsync($"/rec/k{written.Count}", value);
            written.Add((path, value));
            return index;
        }
        for (var n = 0; n < 20; n++)
            await WriteAsync();

        var consensus = (RaftConsensus)follower.Consensus;
        consensus.InjectLogFailure(new InvalidOperationException("injected: the flusher died"));

        long last = 0;
        for (var n = 0; n < 60; n++)
            last = await WriteAsync();
        await cluster.WaitAppliedAsync(last);

        Assert.Equal(1, consensus.Reopens);
        for (var k = 0; k < written.Count; k += 7)
            Assert.Equal(written[k].Value, await cluster.Http.GetStringAsync(cluster.Url(follower, $"/v1/nodes{written[k].Path}?raw=true&stale=true")));
    }
}
