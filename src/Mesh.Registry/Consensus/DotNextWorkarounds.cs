// Every place the registry leans on DotNext.Net.Cluster beyond its public contract, in one file,
// each with why. The package is pinned to one exact version (Directory.Packages.props) and
// tests/Mesh.Registry.Tests/Consensus/DotNextWorkaroundsTests.cs has a test per workaround that
// fails when an upgrade breaks it: read this file before moving that pin.
using System.Globalization;
using System.Net;
using System.Reflection;
using DotNext.IO.Log;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;

namespace Mesh.Registry.Consensus;

internal static class DotNextWorkarounds
{
    /// <summary>
    /// 1. Private-field reflection. <see cref="WriteAheadLog"/>'s background flusher can die for
    /// good (see <see cref="DurableWriteAheadLog"/>), after which every append fails; the library
    /// keeps the failure in a private field and exposes no state or event for it. Reading the
    /// field lets <see cref="RaftConsensus"/> notice and reopen the log. Without the field (an
    /// upgrade renamed it) the watch is off (<see cref="CanObserveBackgroundFailures"/>) and the
    /// test of this workaround fails.
    /// </summary>
    private static readonly FieldInfo? BackgroundFailureField =
        typeof(WriteAheadLog).GetField("backgroundTaskFailure", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Whether this DotNext version lets us see background failures.</summary>
    public static bool CanObserveBackgroundFailures => BackgroundFailureField?.FieldType == typeof(Exception);

    /// <summary>The exception that stopped the log's background flusher or cleaner, or null while healthy.</summary>
    public static Exception? BackgroundFailure(WriteAheadLog log) => BackgroundFailureField?.GetValue(log) as Exception;

    /// <summary>Test hook: the log fails as when its background flusher dies.</summary>
    public static void InjectBackgroundFailure(WriteAheadLog log, Exception failure) => BackgroundFailureField?.SetValue(log, failure);

    /// <summary>
    /// 3. Snapshot file-name parsing. <see cref="SimpleStateMachine"/> hands
    /// <c>RestoreAsync</c> the newest snapshot file but not the log index it was taken at; the
    /// registry needs that index (sessions and watches resume from it). DotNext names the files
    /// <c>index-term</c>, which is where the index comes from.
    /// </summary>
    public static long SnapshotIndex(FileInfo snapshotFile)
    {
        var name = snapshotFile.Name;
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !long.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new InvalidDataException($"snapshot file '{snapshotFile.FullName}' is not named index-term as DotNext's SimpleStateMachine names them");
        return index;
    }

    /// <summary>
    /// 5. Implementing <see cref="IPersistentState"/> from outside DotNext. Its
    /// <c>ConfigurationStorage</c> setter is <c>internal</c>, so only a subclass of one of DotNext's
    /// own implementations can implement the interface; <see cref="LogStore.MeshPersistentState"/>
    /// derives from <see cref="WriteAheadLog"/> (the only one not sealed) for that setter and
    /// re-implements every other member over the registry's own log. True while the setter is
    /// still internal and inherited this way.
    /// </summary>
    public static bool PersistentStateNeedsTheWriteAheadLogBase =>
        typeof(IPersistentState).GetProperty(nameof(IPersistentState.ConfigurationStorage))?.SetMethod is { IsAssembly: true }
        && !typeof(WriteAheadLog).IsSealed;

    /// <summary>
    /// 4. The <c>ConfigurationStorage</c> cast. DotNext 6.12 requires
    /// <see cref="RaftCluster.NodeConfiguration.ConfigurationStorage"/> to be set, and setting it
    /// to null selects its built-in in-memory storage, typed only as the interface; the initial
    /// (static) membership can only be written through that class's builder. Must run after the
    /// property was set to null and before the cluster is built.
    /// </summary>
    public static void SeedInitialMembers(RaftCluster.NodeConfiguration config, IEnumerable<EndPoint> members)
    {
        if (config.ConfigurationStorage is not InMemoryClusterConfigurationStorage<EndPoint> storage)
        {
            throw new InvalidOperationException(
                $"DotNext's default cluster configuration storage is {config.ConfigurationStorage?.GetType().FullName ?? "null"}, not the in-memory storage this registry seeds; see DotNextWorkarounds");
        }
        var builder = storage.CreateInitialConfigurationBuilder();
        foreach (var member in members)
            builder.Add(member);
        builder.Build();
    }
}

/// <summary>
/// DotNext's <see cref="WriteAheadLog"/> with two corrections for a registry that promises an
/// acknowledged write survives any minority of crashes.
/// <para>
/// 2. The re-implemented append. A follower answers AppendEntries as soon as the entries are in
/// its memory-mapped pages; the background flusher writes them out later. The leader counts that
/// answer toward the majority, so a write could be acknowledged to a client while only the leader
/// had it on disk. Re-implementing the interface method the Raft layer calls makes a follower's
/// append return only after the flusher wrote the entries and the checkpoint (etcd and ZooKeeper
/// fsync before acknowledging too). The leader already flushes its own entries before it commits
/// them.
/// </para>
/// <para>
/// The flusher can die for good: it reads the snapshot index before taking its lock, so a
/// snapshot installed in between makes it flush log pages the follower never had
/// (<c>MissingPageException</c>), and from then on every append fails. <see cref="Failure"/>
/// exposes that state (workaround 1) so <see cref="RaftConsensus"/> can reopen the log from disk.
/// </para>
/// </summary>
internal sealed class DurableWriteAheadLog(WriteAheadLog.Options options, IStateMachine stateMachine)
    : WriteAheadLog(options, stateMachine), IPersistentState
{
    /// <summary>Whether this DotNext version lets us see background failures.</summary>
    internal static bool CanObserveFailures => DotNextWorkarounds.CanObserveBackgroundFailures;

    /// <summary>The exception that stopped the background flusher or cleaner, or null while healthy.</summary>
    public Exception? Failure => DotNextWorkarounds.BackgroundFailure(this);

    /// <summary>Test hook: makes the log fail as a dead flusher would.</summary>
    internal void InjectFailure(Exception failure) => DotNextWorkarounds.InjectBackgroundFailure(this, failure);

    async ValueTask IAuditTrail<IRaftLogEntry>.AppendAsync<TEntry>(ILogEntryProducer<TEntry> entries, long startIndex, bool skipCommitted, CancellationToken token)
    {
        await AppendAsync(entries, startIndex, skipCommitted, token).ConfigureAwait(false);
        await FlushAsync(token).ConfigureAwait(false);
    }
}
