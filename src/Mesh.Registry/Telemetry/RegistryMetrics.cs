using System.Diagnostics.Metrics;
using Mesh.Registry.Consensus;
using Mesh.Registry.Storage;

namespace Mesh.Registry.Telemetry;

/// <summary>
/// The node's meters. One <see cref="Meter"/> per node (named with its id) so several nodes in one
/// process (tests, the demo) each export only their own numbers. Cheap observables read state
/// only when scraped.
/// </summary>
internal sealed class RegistryMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Histogram<double> _applyDuration;
    private readonly Histogram<double> _writeDuration;
    private long _leaderChanges;
    private readonly Counter<long> _forwarded;
    private readonly Counter<long> _caSigned;
    private readonly Counter<long> _caRefused;
    private readonly Counter<long> _zkRefused;
    private readonly Histogram<double> _snapshotDuration;
    private long _snapshotBytes = -1;

    public RegistryMetrics(int nodeId)
    {
        MeterName = $"Mesh.Registry.Node{nodeId}";
        _meter = new Meter(MeterName);
        var buckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] };
        _applyDuration = _meter.CreateHistogram("mesh.registry.apply.duration", "s", "Time to apply one committed command to the state machine", null, buckets);
        _writeDuration = _meter.CreateHistogram("mesh.registry.write.duration", "s", "Time from proposing a write on the leader to its result", null, buckets);
        // Observable, so it is exported as 0 from the start: a dashboard sees "no changes", not "no data".
        _meter.CreateObservableCounter("mesh.registry.leader.changes", () => Interlocked.Read(ref _leaderChanges), description: "Leader changes seen by this node");
        _forwarded = _meter.CreateCounter<long>("mesh.registry.forwarded.requests", description: "Requests forwarded to the leader");
        _caSigned = _meter.CreateCounter<long>("mesh.registry.ca.signed", description: "Workload certificates signed by this node");
        _caRefused = _meter.CreateCounter<long>("mesh.registry.ca.refused", description: "Signing requests refused (join token or bad request)");
        _zkRefused = _meter.CreateCounter<long>("mesh.registry.zookeeper.refused", description: "ZooKeeper connections, sessions or watches refused by a limit (tag reason)");
        _snapshotDuration = _meter.CreateHistogram("mesh.registry.snapshot.duration", "s", "Time to serialize one snapshot of the state", null, buckets);
    }

    public string MeterName { get; }

    public void Bind(IConsensus consensus, RegistryStore store)
    {
        _meter.CreateObservableGauge("mesh.registry.is_leader", () => consensus.Role is ConsensusRole.Leader or ConsensusRole.Standalone ? 1 : 0, description: "1 on the leader");
        _meter.CreateObservableGauge("mesh.registry.term", () => consensus.Term, description: "Raft term");
        _meter.CreateObservableGauge("mesh.registry.commit.index", () => consensus.CommitIndex, description: "Last committed log index");
        _meter.CreateObservableGauge("mesh.registry.applied.index", () => consensus.AppliedIndex, description: "Last applied log index");
        _meter.CreateObservableGauge("mesh.registry.sessions", () => store.Read(s => s.GetSessions().Count), description: "Live sessions");
        _meter.CreateObservableGauge("mesh.registry.nodes", () => store.Read(s => s.NodeCount), description: "Nodes in the tree, the root included");
        _meter.CreateObservableGauge("mesh.registry.watches", () => store.Hub.Waiters, description: "Blocked watch requests");
        _meter.CreateObservableGauge("mesh.registry.role", () => Roles(consensus.Role), description: "1 for this node's current Raft role (follower, candidate, leader, standalone)");
        _meter.CreateObservableGauge("mesh.registry.apply.lag", () => Math.Max(0, consensus.CommitIndex - consensus.AppliedIndex), description: "Committed entries not applied here yet");
        _meter.CreateObservableGauge("mesh.registry.member.available", () => Members(consensus), description: "1 when the last contact with the member succeeded (this node's view)");
        _meter.CreateObservableGauge("mesh.registry.snapshot.size", () => SnapshotSize(), "By", "Size of the last snapshot this node wrote");
        if (consensus is RaftConsensus raft)
        {
            // A follower sent the whole state lost its change history; entries would have kept it (--snapshot-keep).
            _meter.CreateObservableCounter("mesh.registry.snapshot.installed", () => SnapshotsInstalled(raft),
                description: "Snapshots this node installed from a leader since it started (registry's own log only)");
        }
    }

    /// <summary>Exports <paramref name="monitor"/>'s table (no I/O on a scrape: the monitor refreshes it in the background).</summary>
    public void BindMemberLag(MemberLagMonitor monitor) =>
        _meter.CreateObservableGauge("mesh.registry.member.lag", () => MemberLags(monitor), "{entry}",
            "Leader only: its commit index minus the member's applied index, refreshed every 2 s; absent for a member that did not answer");

    private static IEnumerable<Measurement<long>> MemberLags(MemberLagMonitor monitor)
    {
        foreach (var (member, lag) in monitor.Lags)
            yield return new Measurement<long>(lag, new KeyValuePair<string, object?>("member", member.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Nothing before the log is open (bound before the node starts) and on DotNext's log, which does not count them.</summary>
    private static IEnumerable<Measurement<long>> SnapshotsInstalled(RaftConsensus raft)
    {
        if (raft.SnapshotsInstalled is { } count)
            yield return new Measurement<long>(count);
    }

    private static IEnumerable<Measurement<int>> Roles(ConsensusRole role)
    {
        foreach (var candidate in Enum.GetValues<ConsensusRole>())
            yield return new Measurement<int>(candidate == role ? 1 : 0, new KeyValuePair<string, object?>("role", candidate.ToString().ToLowerInvariant()));
    }

    private static IEnumerable<Measurement<int>> Members(IConsensus consensus)
    {
        foreach (var member in consensus.Members)
            yield return new Measurement<int>(member.Available ? 1 : 0, new KeyValuePair<string, object?>("member", member.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private IEnumerable<Measurement<long>> SnapshotSize()
    {
        var bytes = Interlocked.Read(ref _snapshotBytes);
        if (bytes >= 0)
            yield return new Measurement<long>(bytes);
    }

    public void RecordSnapshot(TimeSpan elapsed, long bytes)
    {
        _snapshotDuration.Record(elapsed.TotalSeconds);
        Interlocked.Exchange(ref _snapshotBytes, bytes);
    }

    public void RecordApply(TimeSpan elapsed) => _applyDuration.Record(elapsed.TotalSeconds);

    public void RecordWrite(TimeSpan elapsed) => _writeDuration.Record(elapsed.TotalSeconds);

    public void LeaderChanged() => Interlocked.Increment(ref _leaderChanges);

    public void Forwarded() => _forwarded.Add(1);

    public void CaSigned() => _caSigned.Add(1);

    public void CaSignRefused() => _caRefused.Add(1);

    public void ZooKeeperRefused(string reason) => _zkRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
