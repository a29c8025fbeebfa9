using DotNext.IO;
using DotNext.IO.Log;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The registry's own Raft log behind DotNext's <see cref="IPersistentState"/> (reached through
/// <see cref="MeshPersistentState"/>): entries in <see cref="SegmentedLog"/> with one fdatasync per
/// group of appends (<see cref="GroupCommit"/>), term and vote in <see cref="NodeStateFile"/>,
/// committed entries applied in order to the <see cref="IReplicatedStateMachine"/> on one
/// background loop, a snapshot every <c>snapshotEvery</c> entries that compacts the log up to
/// <c>snapshotKeep</c> entries before the snapshot (the tail a follower a little behind reads
/// entries from, instead of being sent the whole snapshot).
/// <para>
/// Durability: a follower answers AppendEntries only after its new entries are synced; the
/// leader's own append only starts a sync (replication runs beside it) and <see cref="CommitAsync"/>
/// waits for it, so nothing is committed that is not on the leader's disk too. The commit index
/// itself is never synced (<see cref="CommitMarker"/>).
/// </para>
/// </summary>
internal sealed partial class MeshRaftLog : IAsyncDisposable
{
    /// <summary>Most entries (and bytes) one replication read returns; DotNext sends the rest in the next round.</summary>
    private const int MaxReadEntries = 1024;
    private const int MaxReadBytes = 4 * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly Lock _stateGate = new();
    private readonly SegmentedLog _log;
    private readonly GroupCommit _sync;
    private readonly NodeStateFile _stateFile;
    private readonly CommitMarker _commitMarker;
    private readonly SnapshotFiles _snapshots;
    private readonly IReplicatedStateMachine _target;
    private readonly long _snapshotEvery;
    private readonly long _snapshotKeep;
    private readonly ILogger _logger;
    private readonly Dictionary<long, object> _contexts = [];
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private NodeState _state;
    private long _commitIndex;

    /// <summary>
    /// The last entry known to match the current leader's log: the end of what the leader last
    /// sent (or, on the leader, its own last append). A commit never goes past it: a follower
    /// may hold a stale tail beyond what the leader sent, and the leader's commit index says
    /// nothing about that tail. Reset to the commit index whenever the term changes.
    /// </summary>
    private long _verifiedIndex;
    private long _appliedIndex;
    private long _snapshotIndex;
    private long _snapshotTerm;
    private TaskCompletionSource _committed = NewSignal();
    private TaskCompletionSource _applied = NewSignal();
    private Task _applier = Task.CompletedTask;
    private Exception? _applyFailure;

    private MeshRaftLog(string directory, string snapshotDirectory, IReplicatedStateMachine target, long snapshotEvery, long snapshotKeep, long segmentSize, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snapshotKeep);
        _target = target;
        _snapshotEvery = snapshotEvery;
        _snapshotKeep = snapshotKeep;
        _logger = logger;
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(snapshotDirectory);
        _snapshots = new SnapshotFiles(snapshotDirectory);
        _stateFile = new NodeStateFile(Path.Combine(directory, "term-vote"));
        _state = _stateFile.Load();
        _commitMarker = new CommitMarker(Path.Combine(directory, "commit"));

        _target.Reset();
        if (_snapshots.Latest() is { } snapshot)
        {
            using var stream = File.OpenRead(snapshot.Path);
            _target.ReadSnapshot(stream, snapshot.Index);
            (_snapshotIndex, _snapshotTerm) = (snapshot.Index, snapshot.Term);
        }
        var floor = _commitMarker.Read();
        _log = SegmentedLog.Open(Path.Combine(directory, "segments"), _snapshotIndex, _snapshotTerm, floor, segmentSize,
            snapshotKeep, message => Log.Recovery(_logger, message));
        _sync = new GroupCommit(_log.Sync, () => _log.DurableIndex);
        _appliedIndex = _snapshotIndex;
        // Entries this node applied before are committed: replay them now, not when a leader says so.
        _commitIndex = Math.Max(_snapshotIndex, Math.Min(floor, _log.LastIndex));
        _verifiedIndex = _commitIndex;
    }

    /// <param name="snapshotKeep">Entries kept before each snapshot's index when the log is compacted (0: none).</param>
    public static MeshRaftLog Open(string directory, string snapshotDirectory, IReplicatedStateMachine target, long snapshotEvery, long snapshotKeep, long segmentSize, ILogger logger)
    {
        var log = new MeshRaftLog(directory, snapshotDirectory, target, snapshotEvery, snapshotKeep, segmentSize, logger);
        log._applier = Task.Run(() => log.ApplyLoopAsync(log._stopping.Token));
        return log;
    }

    public long Term
    {
        get
        {
            lock (_stateGate)
                return _state.Term;
        }
    }

    public long LastCommittedEntryIndex => Volatile.Read(ref _commitIndex);

    /// <summary>
    /// The commit index as DotNext's Raft layer sees it: one less than <see cref="LastCommittedEntryIndex"/>
    /// while nothing was committed after a snapshot installed from the leader. DotNext refuses a
    /// snapshot at or below the commit index as outdated and the leader then lowers its next index
    /// for this node, for good: when the answer to an install was lost (the leader's request timed
    /// out on a loaded machine) the leader sends the same snapshot again, and without this the
    /// follower refused it on every round and never got another entry. Reporting a commit index
    /// lower than the real one is always safe in Raft; the re-sent snapshot reaches
    /// <see cref="InstallSnapshotAsync"/>, which takes nothing from it and answers success.
    /// </summary>
    public long CommitIndexForRaft
    {
        get
        {
            var commit = Volatile.Read(ref _commitIndex);
            return commit > 0 && commit == Volatile.Read(ref _installedSnapshotIndex) ? commit - 1 : commit;
        }
    }

    private long _installedSnapshotIndex;

    public long LastEntryIndex => _log.LastIndex;

    public long LastAppliedIndex => Volatile.Read(ref _appliedIndex);

    public long SnapshotIndex => Volatile.Read(ref _snapshotIndex);

    /// <summary>The first entry this log can send as an entry; a follower that needs an older one gets the snapshot.</summary>
    public long FirstEntryIndex
    {
        get
        {
            lock (_gate)
                return _log.FirstIndex;
        }
    }

    /// <summary>Snapshots installed from a leader since this log opened.</summary>
    public long SnapshotsInstalled => Interlocked.Read(ref _snapshotsInstalled);

    private long _snapshotsInstalled;

    /// <summary>
    /// Test hook: while set, this node (as a follower) fails every AppendEntries that carries
    /// entries and every InstallSnapshot, so it falls behind the leader while it stays up and
    /// hears its heartbeats.
    /// </summary>
    internal bool RefusesReplication { get; set; }

    /// <summary>Disk syncs so far (the commit-path measurements count them).</summary>
    public long Syncs => _sync.Syncs;

    /// <summary>What stopped the log (a failed sync, an entry that failed its checksum), or null.</summary>
    public Exception? Failure => _sync.Failure ?? _applyFailure;

    // ---- term and vote ----

    public bool IsVotedFor(in ClusterMemberId id)
    {
        lock (_stateGate)
            return _state.Vote is not { } vote || vote == id;
    }

    public long IncrementTerm(ClusterMemberId self)
    {
        lock (_stateGate)
        {
            var next = new NodeState(_state.Term + 1, self);
            _stateFile.Save(next);
            _state = next;
            ForgetVerified();
            return next.Term;
        }
    }

    public void UpdateTerm(long term, bool resetLastVote)
    {
        lock (_stateGate)
        {
            var next = new NodeState(term, resetLastVote ? null : _state.Vote);
            if (next == _state)
                return;
            _stateFile.Save(next);
            if (next.Term != _state.Term)
                ForgetVerified();
            _state = next;
        }
    }

    public void UpdateVotedFor(ClusterMemberId member)
    {
        lock (_stateGate)
        {
            var next = _state with { Vote = member };
            if (next == _state)
                return;
            _stateFile.Save(next);
            _state = next;
        }
    }

    /// <summary>
    /// This node leads now: its whole log is the leader's log. Without this a node that leads
    /// again in the term it had (a single node after a restart keeps its term) could never commit
    /// the entries it appended before the restart, which are past the commit index it recovered.
    /// </summary>
    public void StartLeading()
    {
        lock (_gate)
            _verifiedIndex = Math.Max(_verifiedIndex, _log.LastIndex);
    }

    private void ForgetVerified()
    {
        lock (_gate)
            _verifiedIndex = _commitIndex;
    }

    // ---- appends ----

    /// <summary>The leader's append: written at once, synced in the background (commit waits for it).</summary>
    public async ValueTask<long> AppendAsync<TEntry>(TEntry entry, CancellationToken token)
        where TEntry : IRaftLogEntry
    {
        var payload = await PayloadOf(entry, token).ConfigureAwait(false);
        long index;
        lock (_gate)
        {
            ThrowIfFailed();
            _log.Append(entry.Term, FlagsOf(entry), payload.Span);
            index = _log.LastIndex;
            _verifiedIndex = index;
            if (entry is IInputLogEntry { Context: { } context })
                _contexts[index] = context;
        }
        // Starts the sync now so it runs while the entry is replicated.
        _ = _sync.WaitAsync(index).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        return index;
    }

    /// <summary>
    /// A follower syncs the entries it appended on the thread that received them, saving a thread
    /// hop per append, unless socket completions run inline (<see cref="Hosting.RegistryProcessSettings"/>):
    /// then that thread is the socket engine's, and a disk sync there would hold up every socket it serves.
    /// </summary>
    private static readonly bool SyncOnCaller = !Hosting.RegistryProcessSettings.InlineScheduling;

    /// <summary>
    /// A follower's append of entries from <paramref name="startIndex"/>: entries it already has
    /// (same index and term) are kept, the first that differs cuts the log there (Raft's rule, so
    /// a late, stale AppendEntries never removes entries a newer one added), and the call returns
    /// once the new entries are durable. Returns the index of the last entry the leader sent.
    /// </summary>
    public async ValueTask<long> AppendAsync<TEntry>(ILogEntryProducer<TEntry> entries, long startIndex, bool skipCommitted, CancellationToken token)
        where TEntry : IRaftLogEntry
    {
        if (startIndex > LastEntryIndex + 1)
            throw new ArgumentOutOfRangeException(nameof(startIndex), $"entry {startIndex} would leave a gap after the last entry {LastEntryIndex}");
        if (RefusesReplication && entries.RemainingCount > 0)
            throw new IOException($"this node refuses entries from {startIndex} on (test hook)");
        if (!skipCommitted && startIndex <= LastCommittedEntryIndex && entries.RemainingCount > 0)
            throw new InvalidOperationException($"entry {startIndex} is already committed");
        var index = startIndex;
        var written = 0L;
        while (await entries.MoveNextAsync().ConfigureAwait(false))
        {
            var entry = entries.Current;
            if (entry.IsSnapshot)
                throw new InvalidOperationException("a snapshot cannot be appended among entries");
            if (index <= LastCommittedEntryIndex || Matches(index, entry.Term))
            {
                index++;
                continue;
            }
            var payload = await PayloadOf(entry, token).ConfigureAwait(false);
            lock (_gate)
            {
                ThrowIfFailed();
                if (index <= _log.LastIndex)
                    CutFrom(index);
                _log.Append(entry.Term, FlagsOf(entry), payload.Span);
            }
            written = index;
            index++;
        }
        lock (_gate)
            _verifiedIndex = index - 1;
        if (written > 0)
            await _sync.WaitAsync(written, onThisThread: SyncOnCaller).WaitAsync(token).ConfigureAwait(false);
        return index - 1;
    }

    private bool Matches(long index, long term)
    {
        lock (_gate)
            return _log.Find(index) is { } held && held.Term == term;
    }

    private void CutFrom(long index)
    {
        _log.TruncateFrom(index);
        _sync.AbandonAbove(index - 1);
        _verifiedIndex = Math.Min(_verifiedIndex, index - 1);
        foreach (var stale in _contexts.Keys.Where(k => k >= index).ToList())
        {
            (_contexts[stale] as TaskCompletionSource<object?>)?.TrySetException(
                new OutcomeUnknownException("a new leader replaced this write before it was committed; its outcome is unknown"));
            _contexts.Remove(stale);
        }
    }

    /// <summary>
    /// Commits up to <paramref name="endIndex"/> (never past <see cref="_verifiedIndex"/>) once this
    /// node's own copy is durable: on the leader that waits for its sync, on a follower the
    /// append already did.
    /// </summary>
    public async ValueTask<long> CommitAsync(long endIndex, CancellationToken token)
    {
        long target;
        lock (_gate)
            target = Math.Min(endIndex, Math.Min(_verifiedIndex, _log.LastIndex));
        await _sync.WaitAsync(target).WaitAsync(token).ConfigureAwait(false);
        return Commit(target);
    }

    private long Commit(long index)
    {
        TaskCompletionSource signal;
        long count;
        lock (_gate)
        {
            index = Math.Min(index, Math.Min(_verifiedIndex, _log.DurableIndex));
            count = index - _commitIndex;
            if (count <= 0)
                return 0;
            Volatile.Write(ref _commitIndex, index);
            signal = _committed;
            _committed = NewSignal();
        }
        signal.TrySetResult();
        return count;
    }

    /// <summary>Installs a snapshot sent by the leader: replaces the state and the whole log.</summary>
    public async ValueTask InstallSnapshotAsync<TEntry>(TEntry snapshot, long snapshotIndex, CancellationToken token)
        where TEntry : IRaftLogEntry
    {
        if (RefusesReplication)
            throw new IOException($"this node refuses the snapshot at {snapshotIndex} (test hook)");
        var state = await PayloadOf(snapshot, token).ConfigureAwait(false);
        await _applyLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (snapshotIndex <= LastCommittedEntryIndex)
                return;
            var file = _snapshots.Write(snapshotIndex, snapshot.Term, state.Span);
            using (var stream = File.OpenRead(file.Path))
                _target.ReadSnapshot(stream, snapshotIndex);
            lock (_gate)
            {
                _log.ResetTo(snapshotIndex);
                _sync.AbandonAbove(snapshotIndex);
                foreach (var context in _contexts.Values)
                    (context as TaskCompletionSource<object?>)?.TrySetException(new OutcomeUnknownException("this node received a snapshot from a new leader while the write was in flight; its outcome is unknown"));
                _contexts.Clear();
                Volatile.Write(ref _snapshotIndex, snapshotIndex);
                _snapshotTerm = snapshot.Term;
                Volatile.Write(ref _commitIndex, snapshotIndex);
                Volatile.Write(ref _appliedIndex, snapshotIndex);
                _verifiedIndex = snapshotIndex;
            }
            _commitMarker.Write(snapshotIndex);
            Volatile.Write(ref _installedSnapshotIndex, snapshotIndex);
            Interlocked.Increment(ref _snapshotsInstalled);
            Log.SnapshotInstalled(_logger, snapshotIndex, snapshot.Term);
        }
        finally
        {
            _applyLock.Release();
        }
        SignalApplied();
    }

    // ---- reads ----

    public ValueTask<TResult> ReadAsync<TResult>(ILogEntryConsumer<IRaftLogEntry, TResult> reader, long startIndex, long endIndex, CancellationToken token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startIndex);
        if (endIndex < startIndex)
            return reader.ReadAsync<StoredEntry, StoredEntry[]>([], null, token);
        StoredEntry[] list;
        long? snapshotIndex = null;
        lock (_gate)
        {
            // Entries the log still holds go out as entries, those of the kept tail below the
            // snapshot index too; only an older start gets the snapshot.
            if (endIndex > _log.LastIndex)
                return ValueTask.FromException<TResult>(new ArgumentOutOfRangeException(nameof(endIndex), $"entry {endIndex} is past the last entry {_log.LastIndex}"));
            if (startIndex < _log.FirstIndex || (startIndex <= _snapshotIndex && _snapshotIndex > 0 && _log.Find(startIndex) is null))
            {
                if (startIndex == 0 && endIndex == 0)
                    list = [new StoredEntry { Term = 0, Payload = ReadOnlyMemory<byte>.Empty }];
                else
                {
                    list = [ReadSnapshotEntry()];
                    snapshotIndex = _snapshotIndex;
                }
            }
            else
            {
                var count = (int)Math.Min(endIndex - startIndex + 1, MaxReadEntries);
                var entries = new List<StoredEntry>(count);
                var bytes = 0L;
                for (var i = startIndex; i < startIndex + count && (entries.Count == 0 || bytes < MaxReadBytes); i++)
                {
                    var held = _log.Find(i) ?? throw new InvalidOperationException($"entry {i} is not in the log");
                    entries.Add(new StoredEntry { Term = held.Term, Flags = held.Flags, Payload = _log.ReadPayload(i) });
                    bytes += held.PayloadLength;
                }
                list = [.. entries];
            }
        }
        return reader.ReadAsync<StoredEntry, StoredEntry[]>(list, snapshotIndex, token);
    }

    private StoredEntry ReadSnapshotEntry()
    {
        var file = _snapshots.Latest() ?? throw new InvalidOperationException($"entries up to {_snapshotIndex} were compacted but no snapshot file is there");
        return new StoredEntry { Term = file.Term, Payload = File.ReadAllBytes(file.Path), IsSnapshot = true };
    }

    /// <summary>The term of entry <paramref name="index"/> as the cluster asks it (0 before the log starts).</summary>
    public long TermOf(long index)
    {
        lock (_gate)
        {
            if (index == 0)
                return 0;
            if (_log.Find(index) is { } held)
                return held.Term;
            return index <= _snapshotIndex ? _snapshotTerm : throw new ArgumentOutOfRangeException(nameof(index));
        }
    }

    // ---- waiting ----

    public Task WaitForCommitSignal(CancellationToken token)
    {
        lock (_gate)
            return _committed.Task.WaitAsync(token);
    }

    public async ValueTask WaitForApplyAsync(long index, CancellationToken token)
    {
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                if (_appliedIndex >= index)
                    return;
                signal = _applied.Task;
            }
            await signal.WaitAsync(token).ConfigureAwait(false);
        }
    }

    public ValueTask WaitForAnyApplyAsync(CancellationToken token)
    {
        lock (_gate)
            return new(_applied.Task.WaitAsync(token));
    }

    private void SignalApplied()
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            signal = _applied;
            _applied = NewSignal();
        }
        signal.TrySetResult();
    }

    private void ThrowIfFailed()
    {
        if (Failure is { } failure)
            throw new IOException("the raft log stopped: " + failure.Message, failure);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static EntryFlags FlagsOf<TEntry>(TEntry entry)
        where TEntry : IRaftLogEntry => entry.IsConfiguration ? EntryFlags.Configuration : EntryFlags.None;

    private static async ValueTask<ReadOnlyMemory<byte>> PayloadOf<TEntry>(TEntry entry, CancellationToken token)
        where TEntry : IRaftLogEntry
    {
        if (entry.TryGetMemory(out var memory))
            return memory;
        return await entry.ToByteArrayAsync(token: token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _applier.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        lock (_gate)
        {
            foreach (var context in _contexts.Values)
                (context as TaskCompletionSource<object?>)?.TrySetException(new OutcomeUnknownException("this node stopped while the write was in flight; its outcome is unknown"));
            _contexts.Clear();
        }
        _log.Dispose();
        _commitMarker.Dispose();
        _applyLock.Dispose();
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Raft log recovery: {Message}")]
        public static partial void Recovery(ILogger logger, string message);

        [LoggerMessage(2, LogLevel.Information, "Installed a snapshot from the leader at index {Index} (term {Term})")]
        public static partial void SnapshotInstalled(ILogger logger, long index, long term);

        [LoggerMessage(3, LogLevel.Critical, "Log entry {Index} failed its checksum; refusing to apply it")]
        public static partial void CorruptEntry(ILogger logger, long index);

        [LoggerMessage(4, LogLevel.Critical, "Applying log entry {Index} failed; this node stops applying")]
        public static partial void ApplyFailed(ILogger logger, long index, Exception error);

        [LoggerMessage(5, LogLevel.Information, "Snapshot taken at index {Index}; log compacted, entries from {FirstKept} kept")]
        public static partial void SnapshotTaken(ILogger logger, long index, long firstKept);
    }
}
