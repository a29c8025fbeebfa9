using System.Diagnostics.Metrics;
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

    [Fact]
    public async Task ForwardedWrites_FromAFollower_ShareAKeptAliveConnectionToTheLeader()
    {
        await using var cluster = await ZkNodes.StartClusterAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower().ZooKeeperServer!.Leader;
        using var accepted = new ConnectionsAccepted(leader.ClientUrl.Port);

        for (var i = 0; i < 20; i++)
        {
            var header = new CommandHeader(Guid.Empty, 0, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
            Assert.True((await follower.WriteAsync(new CreateNode(header, $"/kept-{i}", ReadOnlyMemory<byte>.Empty), CancellationToken.None)).IsOk);
        }

        // One connection per write before; now the writes reuse one (the other follower's own
        // calls to the leader may open one more in the meantime).
        var byWrites = accepted.Count;
        Assert.InRange(byWrites, 0, 2);
        // And the count sees the leader's connections at all: a new client's is counted.
        using (var probe = new HttpClient())
            (await probe.GetAsync(new Uri(leader.ClientUrl, "/healthz"))).EnsureSuccessStatusCode();
        Assert.True(accepted.Count > byWrites, "the leader's new connections are counted");
        Assert.True(leader.Store.Read(s => s.Exists("/kept-19").IsOk));
    }

    /// <summary>Connections Kestrel accepted on one port since construction (its own meter).</summary>
    private sealed class ConnectionsAccepted : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _count;

        public ConnectionsAccepted(int port)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.active_connections")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (value > 0 && tag.Key == "server.port" && Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture) == port)
                        Interlocked.Increment(ref _count);
                }
            });
            _listener.Start();
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
