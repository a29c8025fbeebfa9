using DotNext.IO.Log;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// Hands <see cref="MeshRaftLog"/> to DotNext's <see cref="RaftCluster"/> as its
/// <see cref="IPersistentState"/>. Workaround 5 (see <see cref="DotNextWorkarounds"/>): the
/// interface has an <c>internal</c> setter (<c>ConfigurationStorage</c>), which a class outside
/// DotNext cannot implement; only a subclass of one of DotNext's own implementations can, and
/// <see cref="WriteAheadLog"/> is the only one not sealed. So this derives from it for that one
/// inherited setter and re-implements every other member of the interface: the base log is an
/// idle shell (no flusher, private memory, an empty directory) that nothing reads or writes.
/// </summary>
internal sealed class MeshPersistentState : WriteAheadLog, IPersistentState
{
    private readonly MeshRaftLog _log;

    public MeshPersistentState(MeshRaftLog log, string shellDirectory)
        : base(new Options
        {
            Location = shellDirectory,
            MemoryManagement = MemoryManagementStrategy.PrivateMemory,
        }, IStateMachine.CreateNoOp(long.MaxValue))
    {
        _log = log;
    }

    bool IAuditTrail.IsLogEntryLengthAlwaysPresented => true;

    long IAuditTrail.LastCommittedEntryIndex => _log.CommitIndexForRaft;

    long IAuditTrail.LastEntryIndex => _log.LastEntryIndex;

    long IPersistentState.Term => _log.Term;

    bool IPersistentState.IsVotedFor(in ClusterMemberId id) => _log.IsVotedFor(in id);

    ValueTask<long> IPersistentState.IncrementTermAsync(ClusterMemberId member, CancellationToken token) =>
        new(_log.IncrementTerm(member));

    ValueTask IPersistentState.UpdateTermAsync(long term, bool resetLastVote, CancellationToken token)
    {
        _log.UpdateTerm(term, resetLastVote);
        return ValueTask.CompletedTask;
    }

    ValueTask IPersistentState.UpdateVotedForAsync(ClusterMemberId member, CancellationToken token)
    {
        _log.UpdateVotedFor(member);
        return ValueTask.CompletedTask;
    }

    Task IAuditTrail.InitializeAsync(CancellationToken token) =>
        _log.WaitForApplyAsync(_log.LastCommittedEntryIndex, token).AsTask();

    ValueTask IAuditTrail.WaitForApplyAsync(CancellationToken token) => _log.WaitForAnyApplyAsync(token);

    ValueTask IAuditTrail.WaitForApplyAsync(long index, CancellationToken token) => _log.WaitForApplyAsync(index, token);

    ValueTask<long> IAuditTrail.CommitAsync(long endIndex, CancellationToken token) => _log.CommitAsync(endIndex, token);

    ValueTask<TResult> IAuditTrail<IRaftLogEntry>.ReadAsync<TResult>(ILogEntryConsumer<IRaftLogEntry, TResult> reader, long startIndex, long endIndex, CancellationToken token) =>
        _log.ReadAsync(reader, startIndex, endIndex, token);

    ValueTask<TResult> IAuditTrail.ReadAsync<TResult>(ILogEntryConsumer<ILogEntry, TResult> reader, long startIndex, long endIndex, CancellationToken token) =>
        _log.ReadAsync(reader, startIndex, endIndex, token);

    async ValueTask IAuditTrail<IRaftLogEntry>.AppendAsync<TEntryImpl>(ILogEntryProducer<TEntryImpl> entries, long startIndex, bool skipCommitted, CancellationToken token) =>
        await _log.AppendAsync(entries, startIndex, skipCommitted, token).ConfigureAwait(false);

    async ValueTask IAuditTrail<IRaftLogEntry>.AppendAsync<TEntryImpl>(TEntryImpl entry, long startIndex, CancellationToken token)
    {
        if (entry.IsSnapshot)
        {
            await _log.InstallSnapshotAsync(entry, startIndex, token).ConfigureAwait(false);
            return;
        }
        await _log.AppendAsync(DotNext.IO.Log.LogEntryProducer<TEntryImpl>.Of(entry), startIndex, skipCommitted: false, token).ConfigureAwait(false);
    }

    ValueTask<long> IAuditTrail<IRaftLogEntry>.AppendAsync<TEntryImpl>(TEntryImpl entry, CancellationToken token) =>
        _log.AppendAsync(entry, token);
}
