using System.Net;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Mesh.Common.Time;
using Microsoft.Extensions.Logging;
using RaftNotLeaderException = DotNext.Net.Cluster.Consensus.Raft.NotLeaderException;

namespace Mesh.Registry.Consensus;

/// <summary>
/// <see cref="IConsensus"/> on DotNext.Net.Cluster: a <see cref="RaftCluster"/> over TCP (on a socket
/// bound before the start, see <see cref="PeerTransport"/>) with static membership, a <see cref="WriteAheadLog"/> and a <see cref="SimpleStateMachine"/> adapter that
/// feeds <see cref="IReplicatedStateMachine"/>. Construction order matters and is the library's,
/// not ours: restore the snapshot, then open the WAL (it reads the snapshot index to choose where
/// replay starts), then start the cluster (which replays committed entries).
/// </summary>
internal sealed partial class RaftConsensus : IConsensus
{
    private readonly RaftConsensusOptions _options;
    private readonly IReplicatedStateMachine _target;
    private readonly Dictionary<string, int> _idByEndPoint;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private SnapshottingStateMachine? _stateMachine;
    private DurableWriteAheadLog? _wal;
    private LogStore.MeshRaftLog? _meshLog;
    private LogStore.MeshPersistentState? _meshState;
    private RaftCluster? _cluster;
    private PeerTransport.PeerConnectionFactory? _peerConnections;
    private Task _walWatch = Task.CompletedTask;
    private int _disposed;
    private int _closed = 1;
    private RaftLogKind _logKind;

    public RaftConsensus(RaftConsensusOptions options, IReplicatedStateMachine stateMachine)
    {
        _options = options;
        _target = stateMachine;
        _logger = options.LoggerFactory.CreateLogger<RaftConsensus>();
        _idByEndPoint = options.Members.ToDictionary(m => m.RaftEndPoint.ToString() ?? "", m => m.Id);
        _logKind = options.RaftLog;
    }

    /// <summary>How many times the log was reopened after its background flusher failed.</summary>
    public int Reopens { get; private set; }

    /// <summary>Test hook: the log fails as when its background flusher dies.</summary>
    internal void InjectLogFailure(Exception failure) => Wal.InjectFailure(failure);

    /// <summary>Which log this node runs on (<see cref="RaftLogKind.Auto"/> is resolved when it starts).</summary>
    public RaftLogKind LogKind => _logKind;

    /// <summary>Disk syncs of the registry's own log so far (null on DotNext's); the commit-path measurements read it.</summary>
    internal long? LogSyncs => _meshLog?.Syncs;

    /// <summary>Snapshots the registry's own log installed from a leader since this node started (null on DotNext's).</summary>
    internal long? SnapshotsInstalled => _meshLog?.SnapshotsInstalled;

    /// <summary>The registry's own log: its snapshot index and the first entry it still sends as an entry (null on DotNext's).</summary>
    internal (long SnapshotIndex, long FirstEntryIndex)? LogStart => _meshLog is { } log ? (log.SnapshotIndex, log.FirstEntryIndex) : null;

    /// <summary>Test hook (registry's own log only): as a follower this node fails every AppendEntries carrying entries and every InstallSnapshot, and so falls behind.</summary>
    internal void RefuseReplication(bool refuse) =>
        (_meshLog ?? throw new InvalidOperationException("only the registry's own log has this hook")).RefusesReplication = refuse;

    public int LocalId => _options.LocalId;

    private bool IsStandalone => _options.Members.Count == 1;

    public ConsensusRole Role => Cluster switch
    {
        var c when !c.LeadershipToken.IsCancellationRequested => IsStandalone ? ConsensusRole.Standalone : ConsensusRole.Leader,
        { Leader: null } => ConsensusRole.Candidate,
        _ => ConsensusRole.Follower,
    };

    public long Term => ((IRaftCluster)Cluster).Term;

    public int? LeaderId => IdOf(Cluster.Leader);

    private string LeaderText => LeaderId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";

    public long CommitIndex => _meshLog?.LastCommittedEntryIndex ?? Wal.LastCommittedEntryIndex;

    public long AppliedIndex => _meshLog?.LastAppliedIndex ?? Wal.LastAppliedIndex;

    private long LastEntryIndex => _meshLog?.LastEntryIndex ?? Wal.LastEntryIndex;

    private ValueTask WaitForApplyCoreAsync(long index, CancellationToken cancellationToken) =>
        _meshLog?.WaitForApplyAsync(index, cancellationToken) ?? Wal.WaitForApplyAsync(index, cancellationToken);

    public CancellationToken LeadershipToken => Cluster.LeadershipToken;

    /// <summary>The member metadata key under which each node publishes its client API address.</summary>
    public const string ClientMetadataKey = "mesh.client";

    public async ValueTask<IPEndPoint?> PublishedClientEndPointAsync(int id, CancellationToken cancellationToken)
    {
        var member = Cluster.Members.FirstOrDefault(m => IdOf(m) == id);
        if (member is null)
            return null;
        if (!member.IsRemote)
            return _options.AdvertisedClientEndPoint;
        // Cached after the first exchange; asked over the Raft transport otherwise, again after a
        // failed exchange (a busy or just-elected leader) for up to a second: a member that stays
        // unreachable that long is as good as gone, and the caller answers "not sent".
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var metadata = member.TryGetMetadata() ?? await member.GetMetadataAsync(refresh: false, cancellationToken).ConfigureAwait(false);
                return metadata.TryGetValue(ClientMetadataKey, out var text) && IPEndPoint.TryParse(text, out var endPoint) ? endPoint : null;
            }
            catch (Exception e) when (e is DotNext.Net.Cluster.MemberUnavailableException or IOException && attempt < 20 && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
            catch (Exception e) when (e is DotNext.Net.Cluster.MemberUnavailableException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                return null;
            }
        }
    }

    public event Action<int?>? LeaderChanged;

    private RaftCluster Cluster => _cluster ?? throw new InvalidOperationException("Consensus is not started.");

    private DurableWriteAheadLog Wal => _wal ?? throw new InvalidOperationException("Consensus is not started.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _logKind = ChooseLog();
        await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (_logKind == RaftLogKind.DotNext && DurableWriteAheadLog.CanObserveFailures)
            _walWatch = WatchLogAsync(_stopping.Token);
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        _closed = 0;
        IPersistentState auditTrail = _logKind == RaftLogKind.Mesh ? OpenMeshLog() : await OpenDotNextLogAsync(cancellationToken).ConfigureAwait(false);

        var self = _options.Members.Single(m => m.Id == _options.LocalId).RaftEndPoint;
        _peerConnections = new PeerTransport.PeerConnectionFactory(_options.LoggerFactory, _options.PeerTls);
        var config = new RaftCluster.CustomTransportConfiguration(_options.Listener.EndPoint, PeerTransport.Server(_options.Listener, _options.LoggerFactory, _options.PeerTls), _peerConnections)
        {
            // The members know this node by its --peers address, which may differ from where it
            // listens (a wildcard address, a relay or NAT in front of it).
            PublicEndPoint = self,
            LowerElectionTimeout = (int)_options.LowerElectionTimeout.TotalMilliseconds,
            UpperElectionTimeout = (int)_options.UpperElectionTimeout.TotalMilliseconds,
            RequestTimeout = _options.LowerElectionTimeout,
            ConnectTimeout = _options.LowerElectionTimeout / 2,
            ColdStart = false,
            // Followers learn the commit index from the next heartbeat, so watchers on followers
            // wait for it: heartbeats every 10% of the election timeout (60 ms by default instead
            // of DotNext's 50%, 300 ms) bring a change to every node's watchers within ~60 ms.
            HeartbeatThreshold = 0.1,
            LoggerFactory = _options.LoggerFactory,
            // Required in 6.12; null selects the built-in in-memory storage, seeded below (DotNextWorkarounds). Must stay last.
            ConfigurationStorage = null,
        };
        if (_options.AdvertisedClientEndPoint is { } client)
            config.Metadata[ClientMetadataKey] = client.ToString();
        DotNextWorkarounds.SeedInitialMembers(config, _options.Members.Select(m => m.RaftEndPoint));

        _cluster = new RaftCluster(config) { AuditTrail = auditTrail };
        _cluster.LeaderChanged += OnLeaderChanged;
        await _cluster.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Resolves <see cref="RaftLogKind.Auto"/>: the registry's own log unless the data directory
    /// holds DotNext's (an upgraded node keeps its data; moving is a step the operator takes).
    /// </summary>
    private RaftLogKind ChooseLog()
    {
        if (_options.RaftLog != RaftLogKind.Auto)
            return _options.RaftLog;
        if (!LogStore.MeshLogMigration.HasDotNextData(_options.WalDirectory, _options.MeshLogDirectory))
            return RaftLogKind.Mesh;
        Log.StaysOnDotNextLog(_logger, _options.LocalId, _options.WalDirectory);
        return RaftLogKind.DotNext;
    }

    private async Task<IPersistentState> OpenDotNextLogAsync(CancellationToken cancellationToken)
    {
        if (LogStore.MeshLogMigration.HasMeshData(_options.MeshLogDirectory))
        {
            throw new InvalidDataException(
                $"{_options.MeshLogDirectory} holds the registry's own raft log (--raft-log mesh); start this node with --raft-log mesh (docs/registry.md \"Upgrading\")");
        }
        Directory.CreateDirectory(_options.SnapshotDirectory);
        _stateMachine = new SnapshottingStateMachine(new DirectoryInfo(_options.SnapshotDirectory), _target, _options.SnapshotEvery, _logger);
        // A reopen replays the log into the state machine again, from the snapshot if there is one.
        _target.Reset();
        await _stateMachine.RestoreAsync(cancellationToken).ConfigureAwait(false);

        return _wal = new DurableWriteAheadLog(new WriteAheadLog.Options
        {
            Location = _options.WalDirectory,
            HashAlgorithm = WriteAheadLog.IntegrityHashAlgorithm.Crc32,
            MemoryManagement = WriteAheadLog.MemoryManagementStrategy.SharedMemory,
            // The default is one OS page; large chunks keep entries off chunk boundaries (#292).
            ChunkSize = 4 * 1024 * 1024,
        }, _stateMachine);
    }

    private IPersistentState OpenMeshLog()
    {
        var directory = _options.MeshLogDirectory;
        if (LogStore.MeshLogMigration.HasDotNextData(_options.WalDirectory, directory))
        {
            throw new InvalidDataException(
                $"{_options.WalDirectory} holds DotNext's write-ahead log, which --raft-log mesh does not read; start this node with --raft-log dotnext, "
                + "or (with the other nodes healthy) move the data directory aside and restart it empty on --raft-log mesh to re-sync from the leader (docs/registry.md \"Upgrading\")");
        }
        _meshLog = LogStore.MeshRaftLog.Open(directory, _options.SnapshotDirectory, _target, _options.SnapshotEvery, _options.SnapshotKeep, _options.SegmentSize, _logger);
        return _meshState = new LogStore.MeshPersistentState(_meshLog, Path.Combine(directory, "dotnext-shell"));
    }

    /// <summary>A host name in --peers cannot be bound: listen on every interface at its port.</summary>
    internal static IPEndPoint ListenDefault(EndPoint advertised) => advertised switch
    {
        IPEndPoint ip => ip,
        DnsEndPoint dns => new IPEndPoint(IPAddress.Any, dns.Port),
        _ => throw new ArgumentException($"unsupported peer address {advertised}", nameof(advertised)),
    };

    public async Task<object?> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        var cluster = Cluster;
        if (cluster.LeadershipToken.IsCancellationRequested)
            throw new NotLeaderException(LeaderId);
        var result = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // Returns after a majority appended the entry and it was applied here (or throws).
            await cluster.ReplicateAsync(CommandFrame.Wrap(command.Span), context: result, token: cancellationToken).ConfigureAwait(false);
        }
        catch (RaftNotLeaderException e)
        {
            // The entry may already be in this node's log and on a majority: a new leader can
            // commit it. Only the check above proves that nothing was proposed.
            throw new OutcomeUnknownException($"leadership moved while the write was in flight (leader now: {LeaderText}); its outcome is unknown", e);
        }
        catch (QuorumUnreachableException e)
        {
            throw new OutcomeUnknownException("the quorum was lost while the write was in flight; its outcome is unknown", e);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            throw new OutcomeUnknownException("this node stopped while the write was in flight; its outcome is unknown", e);
        }
        var applied = await result.Task.ConfigureAwait(false);
        AnnounceCommit(cluster);
        return applied;
    }

    /// <summary>
    /// Followers learn that an entry is committed from the leader's next AppendEntries, which
    /// without new writes is the next heartbeat; until then their watchers wait (and a ZooKeeper
    /// write forwarded by a follower waits to be applied there). One replication round right after
    /// the commit carries the new commit index at once (rounds coalesce, so a busy leader sends no
    /// more of them). Sent from here, after the proposer's answer, rather than at the commit
    /// itself: measured, a round asked for at the commit always ran before the next sequential write
    /// arrived, which then waited for it (2.0 rounds per write instead of 1.5, where this round
    /// and the next write's often are one; docs/benchmarks.md).
    /// </summary>
    private void AnnounceCommit(RaftCluster cluster)
    {
        if (IsStandalone || cluster.LeadershipToken.IsCancellationRequested)
            return;
        _ = Announce();

        async Task Announce()
        {
            try
            {
                await cluster.ForceReplicationAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RaftNotLeaderException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or QuorumUnreachableException)
            {
                // Leadership moved or the node is stopping: the next leader's heartbeats carry it.
            }
        }
    }

    public async Task ReadBarrierAsync(CancellationToken cancellationToken)
    {
        var cluster = Cluster;
        if (cluster.LeadershipToken.IsCancellationRequested)
            throw new NotLeaderException(LeaderId);
        if (IsStandalone)
        {
            await WaitForApplyCoreAsync(CommitIndex, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            // Strong: a heartbeat round to a majority confirms leadership, then waits for local apply.
            await cluster.ApplyReadBarrierAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RaftNotLeaderException)
        {
            throw new NotLeaderException(LeaderId);
        }
        catch (QuorumUnreachableException e)
        {
            throw new QuorumUnavailableException("No quorum is reachable.", e);
        }
        catch (DotNext.Net.Cluster.MemberUnavailableException e)
        {
            // A follower asks the leader for its commit index; a leader too busy to answer (seen
            // with 1,000 sidecars on 2 cores, before an election) is "try again", not a fault.
            throw new QuorumUnavailableException("The leader did not answer to confirm the read; try again.", e);
        }
        if (cluster.LeadershipToken.IsCancellationRequested)
            throw new NotLeaderException(LeaderId);
    }

    public async Task WaitForAppliedAsync(long index, CancellationToken cancellationToken)
    {
        while (true)
        {
            var reopens = Reopens;
            try
            {
                await WaitForApplyCoreAsync(index, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested && _meshLog is null && (_wal?.Failure is not null || Reopens != reopens))
            {
                // DotNext's log failed under this wait and WatchLogAsync is reopening it from disk
                // (or just did): wait on the reopened log, as a caller would after a restart.
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public IReadOnlyList<MemberState> Members
    {
        get
        {
            var cluster = Cluster;
            var isLeader = !cluster.LeadershipToken.IsCancellationRequested;
            var last = LastEntryIndex;
            var leaderId = LeaderId;
            var result = new List<MemberState>(_options.Members.Count);
            foreach (var member in cluster.Members)
            {
                var id = IdOf(member) ?? 0;
                // DotNext keeps per-follower replication indexes internal, so only the local lag is known.
                long? lag = member.IsRemote ? null : Math.Max(0, (isLeader ? last : CommitIndex) - AppliedIndex);
                var available = member.Status != DotNext.Net.Cluster.ClusterMemberStatus.Unavailable;
                result.Add(new MemberState(id, Hosting.ClusterMember.Format(member.EndPoint), id == leaderId, !member.IsRemote, available, lag));
            }
            return result.OrderBy(m => m.Id).ToArray();
        }
    }

    private int? IdOf(RaftClusterMember? member) =>
        member is not null && _idByEndPoint.TryGetValue(member.EndPoint.ToString() ?? "", out var id) ? id : null;

    private void OnLeaderChanged(RaftCluster<RaftClusterMember> cluster, RaftClusterMember? leader)
    {
        var id = IdOf(leader);
        if (id == _options.LocalId)
            _meshLog?.StartLeading();
        Log.LeaderChanged(_logger, _options.LocalId, id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", ((IRaftCluster)cluster).Term);
        LeaderChanged?.Invoke(id);
    }

    /// <summary>
    /// Reopens the log from disk when its background flusher died (see
    /// <see cref="DurableWriteAheadLog"/>): the node steps out of the cluster for a moment,
    /// reloads its snapshot and log as after a restart, keeps its term and vote, and catches up
    /// from the leader. Without this the node would refuse every append until restarted.
    /// </summary>
    private Task WatchLogAsync(CancellationToken stopping)
    {
        var open = true;
        return Ticker.RunAsync(TimeSpan.FromMilliseconds(200), async token =>
        {
            try
            {
                var failure = _wal?.Failure;
                if (open && failure is null)
                    return;
                if (open)
                    Log.LogFailed(_logger, _options.LocalId, failure!.Message);
                open = false;
                await CloseAsync().ConfigureAwait(false);
                await OpenAsync(token).ConfigureAwait(false);
                open = true;
                Reopens++;
                Log.LogReopened(_logger, _options.LocalId, Wal.LastCommittedEntryIndex);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // Reopening failed (e.g. the peer port not yet released): try again shortly.
                Log.ReopenFailed(_logger, _options.LocalId, e);
            }
        }, stopping, waitFirst: true);
    }

    /// <summary>
    /// Stops and releases the cluster, the log and the snapshot store. The fields keep pointing at
    /// the disposed objects until <see cref="OpenAsync"/> replaces them, so a status read in
    /// between sees a node without a leader rather than a null.
    /// </summary>
    private async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        if (_cluster is { } cluster)
        {
            cluster.LeaderChanged -= OnLeaderChanged;
            try
            {
                await cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // Stopping a node that never finished starting.
            }
            await cluster.DisposeAsync().ConfigureAwait(false);
        }
        // RaftCluster does not own its audit trail.
        if (_wal is { } wal)
            await wal.DisposeAsync().ConfigureAwait(false);
        if (_meshState is { } meshState)
            await meshState.DisposeAsync().ConfigureAwait(false);
        if (_meshLog is { } meshLog)
            await meshLog.DisposeAsync().ConfigureAwait(false);
        _peerConnections?.Dispose();
        if (_stateMachine is { } stateMachine)
            await stateMachine.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _walWatch.ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Node {Id}: leader is now {Leader} (term {Term})")]
        public static partial void LeaderChanged(ILogger logger, int id, string leader, long term);

        [LoggerMessage(2, LogLevel.Critical, "Log entry {Index} failed its checksum; refusing to apply it")]
        public static partial void CorruptEntry(ILogger logger, long index);

        [LoggerMessage(3, LogLevel.Error, "Node {Id}: the write-ahead log stopped writing ({Reason}); reopening it from disk")]
        public static partial void LogFailed(ILogger logger, int id, string reason);

        [LoggerMessage(4, LogLevel.Warning, "Node {Id}: write-ahead log reopened at commit index {Index}; catching up from the leader")]
        public static partial void LogReopened(ILogger logger, int id, long index);

        [LoggerMessage(5, LogLevel.Error, "Node {Id}: reopening the write-ahead log failed; retrying")]
        public static partial void ReopenFailed(ILogger logger, int id, Exception error);

        [LoggerMessage(6, LogLevel.Warning, "Node {Id}: {Directory} holds DotNext's write-ahead log, so this node keeps running on it (--raft-log auto); "
            + "to move it to the registry's own log, with the other nodes healthy stop it, move its data directory aside and start it empty (docs/registry.md \"Upgrading\")")]
        public static partial void StaysOnDotNextLog(ILogger logger, int id, string directory);
    }
}
