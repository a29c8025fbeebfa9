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
    private readonly Counter<long> _leaderChanges;
    private readonly Counter<long> _forwarded;
    private readonly Counter<long> _caSigned;
    private readonly Counter<long> _caRefused;

    public RegistryMetrics(int nodeId)
    {
        MeterName = $"Mesh.Registry.Node{nodeId}";
        _meter = new Meter(MeterName);
        var buckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] };
        _applyDuration = _meter.CreateHistogram("mesh.registry.apply.duration", "s", "Time to apply one committed command to the state machine", null, buckets);
        _writeDuration = _meter.CreateHistogram("mesh.registry.write.duration", "s", "Time from proposing a write on the leader to its result", null, buckets);
        _leaderChanges = _meter.CreateCounter<long>("mesh.registry.leader.changes", description: "Leader changes seen by this node");
        _forwarded = _meter.CreateCounter<long>("mesh.registry.forwarded.requests", description: "Requests forwarded to the leader");
        _caSigned = _meter.CreateCounter<long>("mesh.registry.ca.signed", description: "Workload certificates signed by this node");
        _caRefused = _meter.CreateCounter<long>("mesh.registry.ca.refused", description: "Signing requests refused (join token or bad request)");
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
    }

    public void RecordApply(TimeSpan elapsed) => _applyDuration.Record(elapsed.TotalSeconds);

    public void RecordWrite(TimeSpan elapsed) => _writeDuration.Record(elapsed.TotalSeconds);

    public void LeaderChanged() => _leaderChanges.Add(1);

    public void Forwarded() => _forwarded.Add(1);

    public void CaSigned() => _caSigned.Add(1);

    public void CaSignRefused() => _caRefused.Add(1);

    public void Dispose() => _meter.Dispose();
}
