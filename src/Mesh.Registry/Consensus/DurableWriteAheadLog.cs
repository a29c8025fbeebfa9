using System.Reflection;
using DotNext.IO.Log;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;

namespace Mesh.Registry.Consensus;

/// <summary>
/// DotNext's <see cref="WriteAheadLog"/> with two corrections for a registry that promises an
/// acknowledged write survives any minority of crashes.
/// <para>
/// 1. A follower answers AppendEntries as soon as the entries are in its memory-mapped pages;
/// the background flusher writes them out later. The leader counts that answer toward the
/// majority, so a write could be acknowledged to a client while only the leader had it on disk.
/// Here a follower's append returns only after the flusher wrote the entries and the checkpoint
/// (etcd and ZooKeeper fsync before acknowledging too). The leader already flushes its own
/// entries before it commits them.
/// </para>
/// <para>
/// 2. The flusher can die for good: it reads the snapshot index before taking its lock, so a
/// snapshot installed in between makes it flush log pages the follower never had
/// (<c>MissingPageException</c>), and from then on every append fails. <see cref="Failure"/>
/// exposes that state so <see cref="RaftConsensus"/> can reopen the log from disk.
/// </para>
/// </summary>
internal sealed class DurableWriteAheadLog(WriteAheadLog.Options options, IStateMachine stateMachine)
    : WriteAheadLog(options, stateMachine), IPersistentState
{
    // The library keeps the failure private; its absence (a DotNext upgrade) fails the tests.
    private static readonly FieldInfo? FailureField =
        typeof(WriteAheadLog).GetField("backgroundTaskFailure", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Whether this DotNext version lets us see background failures.</summary>
    internal static bool CanObserveFailures => FailureField?.FieldType == typeof(Exception);

    /// <summary>The exception that stopped the background flusher or cleaner, or null while healthy.</summary>
    public Exception? Failure => FailureField?.GetValue(this) as Exception;

    /// <summary>Test hook: makes the log fail as a dead flusher would.</summary>
    internal void InjectFailure(Exception failure) => FailureField?.SetValue(this, failure);

    async ValueTask IAuditTrail<IRaftLogEntry>.AppendAsync<TEntry>(ILogEntryProducer<TEntry> entries, long startIndex, bool skipCommitted, CancellationToken token)
    {
        await AppendAsync(entries, startIndex, skipCommitted, token).ConfigureAwait(false);
        await FlushAsync(token).ConfigureAwait(false);
    }
}
