using System.Text;
using DotNext.IO.Log;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using Mesh.Registry.Consensus;
using Mesh.Registry.Consensus.LogStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Consensus.LogStore;

/// <summary>The registry's own log driven through <see cref="IPersistentState"/> the way DotNext's Raft layer drives it, on real files.</summary>
public sealed class MeshRaftLogTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
    private readonly List<IAsyncDisposable> _open = [];

    private (MeshRaftLog Log, IPersistentState State, RecordingStateMachine Machine) Open(long snapshotEvery = 1_000, long segmentSize = 64 * 1024, long snapshotKeep = 0)
    {
        var machine = new RecordingStateMachine();
        var log = MeshRaftLog.Open(_root, Path.Combine(_root, "snapshots"), machine, snapshotEvery, snapshotKeep, segmentSize, NullLogger.Instance);
        var state = new MeshPersistentState(log, Path.Combine(_root, "shell"));
        _open.Add(state);
        _open.Add(log);
        return (log, state, machine);
    }

    private async Task CloseAsync()
    {
        foreach (var item in _open)
            await item.DisposeAsync();
        _open.Clear();
    }

    private static BinaryLogEntry Command(string text, long term, object? context = null) =>
        new() { Term = term, Content = CommandFrame.Wrap(Encoding.UTF8.GetBytes(text)), Context = context };

    private static LogEntryProducer<BinaryLogEntry> Entries(long term, params string[] texts) =>
        new(texts.Select(t => Command(t, term)).ToArray());

    /// <summary>Entries a, b, c in term 1, committed and applied, then the log closed.</summary>
    private async Task CommitThreeAndCloseAsync()
    {
        var (_, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "c"), 1, skipCommitted: true);
        await state.CommitAsync(3);
        await state.WaitForApplyAsync(3);
        await CloseAsync();
    }

    [Fact]
    public async Task LeaderAppend_CommittedOnceSynced_AppliesAndAnswersTheProposer()
    {
        var (log, state, machine) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        var proposer = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);

        var index = await state.AppendAsync(Command("a", 1, proposer));
        await state.CommitAsync(index);
        await state.WaitForApplyAsync(index);

        Assert.Equal(1, index);
        Assert.Equal("ok 1", await proposer.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["a"], machine.Applied);
        Assert.True(log.Syncs >= 1);
    }

    [Fact]
    public async Task FollowerAppend_WhenItReturns_ItsEntriesAreDurable()
    {
        var (log, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        var syncs = log.Syncs;

        await state.AppendAsync(Entries(1, "a", "b", "c"), 1, skipCommitted: true);

        // One sync for the whole batch, done before the follower may answer the leader.
        Assert.Equal(syncs + 1, log.Syncs);
        await CloseAsync();
        var (reopened, _, _) = Open();
        Assert.Equal(3, reopened.LastEntryIndex);
    }

    [Fact]
    public async Task FollowerAppend_CommitIndexBeyondWhatTheLeaderSent_CommitsOnlyWhatItSent()
    {
        var (log, state, machine) = Open();
        await state.UpdateTermAsync(2, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "stale"), 1, skipCommitted: true);
        // A new leader (term 2) sends entries 1 and 2 only, and says 3 is committed: its entry 3 is not ours.
        await state.AppendAsync(Entries(1, "a", "b"), 1, skipCommitted: true);
        await state.CommitAsync(3);
        await state.WaitForApplyAsync(2);

        Assert.Equal(2, log.LastCommittedEntryIndex);
        Assert.Equal(["a", "b"], machine.Applied);
    }

    [Fact]
    public async Task FollowerAppend_ConflictingEntry_ReplacesTheTailAndTheOldTailNeverComesBack()
    {
        var (_, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "c", "d"), 1, skipCommitted: true);
        await state.UpdateTermAsync(2, resetLastVote: true);
        await state.AppendAsync(Entries(2, "B"), 2, skipCommitted: true);
        Assert.Equal(2, state.LastEntryIndex);
        await CloseAsync();

        var (_, reopened, machine) = Open();
        Assert.Equal(2, reopened.LastEntryIndex);
        await reopened.AppendAsync(Entries(2, "a", "B"), 1, skipCommitted: true);
        await reopened.CommitAsync(2);
        await reopened.WaitForApplyAsync(2);
        Assert.Equal(["a", "B"], machine.Applied);
    }

    [Fact]
    public async Task TermAndVote_AfterReopen_AreWhatWasAnswered()
    {
        var (_, state, _) = Open();
        var candidate = ClusterMemberId.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4001));
        var other = ClusterMemberId.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4002));
        await state.UpdateTermAsync(7, resetLastVote: true);
        await state.UpdateVotedForAsync(candidate);
        await CloseAsync();

        var (_, reopened, _) = Open();
        Assert.Equal(7, reopened.Term);
        Assert.True(reopened.IsVotedFor(candidate));
        Assert.False(reopened.IsVotedFor(other));
    }

    [Fact]
    public async Task Reopen_AfterCommittedEntries_ReplaysThemWithoutALeader()
    {
        await CommitThreeAndCloseAsync();

        var (log, reopened, machine) = Open();
        await reopened.InitializeAsync();

        Assert.Equal(["a", "b", "c"], machine.Applied);
        Assert.Equal(3, log.LastCommittedEntryIndex);
        Assert.Equal(3, reopened.LastEntryIndex);
    }

    [Fact]
    public async Task Reopen_TornLastEntry_CutsItAndKeepsEverythingBefore()
    {
        var (_, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "c"), 1, skipCommitted: true);
        await CloseAsync();
        // The machine stopped while entry 3 was being written: its last bytes never made it.
        var segment = Directory.GetFiles(Path.Combine(_root, "segments")).Single();
        var bytes = File.ReadAllBytes(segment);
        var third = EntryFrame.SizeOf(CommandFrame.Wrap("a"u8).Length) * 2;
        bytes[third + EntryFrame.HeaderSize + 2] ^= 0xFF;
        File.WriteAllBytes(segment, bytes);

        var (_, reopened, machine) = Open();
        Assert.Equal(2, reopened.LastEntryIndex);
        await reopened.AppendAsync(Entries(1, "c2"), 3, skipCommitted: true);
        await reopened.CommitAsync(3);
        await reopened.WaitForApplyAsync(3);
        Assert.Equal(["a", "b", "c2"], machine.Applied);
    }

    [Fact]
    public async Task Reopen_DamagedEntryThatWasCommitted_RefusesToStart()
    {
        await CommitThreeAndCloseAsync();
        var segment = Directory.GetFiles(Path.Combine(_root, "segments")).Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[EntryFrame.HeaderSize + 2] ^= 0xFF;
        File.WriteAllBytes(segment, bytes);

        var error = Assert.Throws<InvalidDataException>(() => Open());
        Assert.Contains("committed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_EveryNEntries_CompactsTheLogAndServesTheSnapshotForTheCompactedPrefix()
    {
        var (log, state, _) = Open(snapshotEvery: 100, segmentSize: 4096);
        await state.UpdateTermAsync(1, resetLastVote: true);
        var texts = Enumerable.Range(0, 250).Select(i => "entry " + i).ToArray();
        await state.AppendAsync(Entries(1, texts), 1, skipCommitted: true);
        await state.CommitAsync(250);
        await state.WaitForApplyAsync(250);

        Assert.Equal(200, log.SnapshotIndex);
        var segments = Directory.GetFiles(Path.Combine(_root, "segments"));
        Assert.True(segments.Length < 10, $"{segments.Length} segments left after compaction");
        var read = await state.ReadAsync(new Capture(), 5, 10);
        Assert.Equal(200, read.SnapshotIndex);
        Assert.True(read.Entries[0].IsSnapshot);
        var tail = await state.ReadAsync(new Capture(), 201, 250);
        Assert.Null(tail.SnapshotIndex);
        Assert.Equal(50, tail.Entries.Count);
        await CloseAsync();

        var (_, reopened, machine) = Open(snapshotEvery: 100, segmentSize: 4096);
        await reopened.InitializeAsync();
        Assert.Equal(200, machine.RestoredFrom);
        Assert.Equal(texts, machine.Applied);
    }

    [Fact]
    public async Task Snapshot_WithATailKept_ServesTheTailBelowTheSnapshotIndexAsEntries_AndTheSnapshotOnlyBeforeIt()
    {
        var (log, state, _) = Open(snapshotEvery: 100, segmentSize: 4096, snapshotKeep: 30);
        await state.UpdateTermAsync(1, resetLastVote: true);
        var texts = Enumerable.Range(0, 250).Select(i => "entry " + i).ToArray();
        await state.AppendAsync(Entries(1, texts), 1, skipCommitted: true);
        await state.CommitAsync(250);
        await state.WaitForApplyAsync(250);

        Assert.Equal(200, log.SnapshotIndex);
        Assert.Equal(171, log.FirstEntryIndex);
        Assert.True(Directory.GetFiles(Path.Combine(_root, "segments")).Length < 10, "compaction left the segments before the tail");
        // A follower whose next entry is in the tail gets entries (the leader reads the preceding term the same way).
        var tail = await state.ReadAsync(new Capture(), 171, 180);
        Assert.Null(tail.SnapshotIndex);
        Assert.Equal(texts[170..180], tail.Entries.Select(TextOf));
        Assert.Equal(1, (await state.ReadAsync(new Capture(), 171, 171)).Entries[0].Term);
        // One entry older: the snapshot.
        var older = await state.ReadAsync(new Capture(), 170, 180);
        Assert.Equal(200, older.SnapshotIndex);
        Assert.True(older.Entries[0].IsSnapshot);
        await CloseAsync();

        // A restart keeps the tail: snapshot, then the kept entries (not applied again), then the rest.
        var (reopenedLog, reopened, machine) = Open(snapshotEvery: 100, segmentSize: 4096, snapshotKeep: 30);
        await reopened.InitializeAsync();
        Assert.Equal(200, machine.RestoredFrom);
        Assert.Equal(texts, machine.Applied);
        Assert.Equal(171, reopenedLog.FirstEntryIndex);
        Assert.Equal(texts[170..250], (await reopened.ReadAsync(new Capture(), 171, 250)).Entries.Select(TextOf));
        await CloseAsync();

        // Started again with no tail, it keeps none.
        var (noTail, _, _) = Open(snapshotEvery: 100, segmentSize: 4096, snapshotKeep: 0);
        Assert.Equal(201, noTail.FirstEntryIndex);
    }

    [Fact]
    public async Task Reopen_LogEndingBeforeTheSnapshot_StartsTheLogAfterTheSnapshot()
    {
        // The machine stopped after a leader's snapshot at 10 was written and before the old log
        // (entries 1-3) was dropped.
        var (_, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "c"), 1, skipCommitted: true);
        await CloseAsync();
        new SnapshotFiles(Path.Combine(_root, "snapshots")).Write(10, 5, Encoding.UTF8.GetBytes("x\ny"));

        var (log, reopened, machine) = Open();
        await reopened.InitializeAsync();
        Assert.Equal((10, 11), (reopened.LastEntryIndex, log.FirstEntryIndex));
        await reopened.UpdateTermAsync(5, resetLastVote: true);
        await reopened.AppendAsync(Entries(5, "d"), 11, skipCommitted: true);
        await reopened.CommitAsync(11);
        await reopened.WaitForApplyAsync(11);
        await CloseAsync();

        // Entry 11 went where a later start finds it.
        var (_, again, replayed) = Open();
        await again.InitializeAsync();
        Assert.Equal(11, again.LastEntryIndex);
        Assert.Equal(["x", "y", "d"], replayed.Applied);
    }

    [Fact]
    public async Task Reopen_LogWithAnotherEntryAtTheSnapshotIndex_KeepsNothingOfIt()
    {
        // Entries 1-3 from term 1 that the cluster replaced; the snapshot at 2 is from term 5.
        var (_, state, _) = Open(snapshotKeep: 100);
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Entries(1, "a", "b", "c"), 1, skipCommitted: true);
        await CloseAsync();
        new SnapshotFiles(Path.Combine(_root, "snapshots")).Write(2, 5, Encoding.UTF8.GetBytes("x\ny"));

        var (log, reopened, machine) = Open(snapshotKeep: 100);
        await reopened.InitializeAsync();
        Assert.Equal((2, 3), (reopened.LastEntryIndex, log.FirstEntryIndex));
        Assert.Equal(["x", "y"], machine.Applied);
        Assert.True((await reopened.ReadAsync(new Capture(), 1, 2)).Entries[0].IsSnapshot);
    }

    [Fact]
    public async Task InstallSnapshot_FromTheLeader_ReplacesStateAndLog()
    {
        var (log, state, machine) = Open();
        await state.UpdateTermAsync(3, resetLastVote: true);
        await state.AppendAsync(Entries(1, "old"), 1, skipCommitted: true);
        var snapshot = new SnapshotEntry(2, Encoding.UTF8.GetBytes("x\ny\nz"));

        await state.AppendAsync(snapshot, 40);
        await state.AppendAsync(Entries(3, "after"), 41, skipCommitted: true);
        await state.CommitAsync(41);
        await state.WaitForApplyAsync(41);

        Assert.Equal(40, machine.RestoredFrom);
        Assert.Equal(["x", "y", "z", "after"], machine.Applied);
        Assert.Equal(41, log.LastCommittedEntryIndex);
        await CloseAsync();

        var (_, reopened, again) = Open();
        await reopened.InitializeAsync();
        Assert.Equal(["x", "y", "z", "after"], again.Applied);
    }

    [Fact]
    public async Task InstallSnapshot_SentAgainAfterItsAnswerWasLost_IsAcceptedAndTakesNothingFromIt()
    {
        var (log, state, machine) = Open();
        await state.UpdateTermAsync(2, resetLastVote: true);
        var snapshot = new SnapshotEntry(2, Encoding.UTF8.GetBytes("x\ny"));
        await state.AppendAsync(snapshot, 40);

        // DotNext refuses a snapshot at or below the commit index it reads, so it must read 39 here
        // for the leader's second send of the same snapshot to get through.
        Assert.Equal(40, log.LastCommittedEntryIndex);
        Assert.Equal(39, state.LastCommittedEntryIndex);
        await state.AppendAsync(snapshot, 40);
        Assert.Equal(1, log.SnapshotsInstalled);

        await state.AppendAsync(Entries(2, "after"), 41, skipCommitted: true);
        await state.CommitAsync(41);
        await state.WaitForApplyAsync(41);
        Assert.Equal(41, state.LastCommittedEntryIndex);
        Assert.Equal(["x", "y", "after"], machine.Applied);
    }

    [Fact]
    public async Task StartLeading_InTheTermItHadBeforeARestart_CommitsWhatItAppendedThen()
    {
        var (log, state, _) = Open();
        await state.UpdateTermAsync(1, resetLastVote: true);
        await state.AppendAsync(Command("a", 1));
        await state.CommitAsync(1);
        await state.WaitForApplyAsync(1);
        await state.AppendAsync(Command("b", 1));
        await CloseAsync();

        (log, state, var machine) = Open();
        await state.InitializeAsync();
        // As a follower it commits only what a leader sent it since; as the leader its whole log is the leader's.
        await state.CommitAsync(2);
        Assert.Equal(1, log.LastCommittedEntryIndex);
        log.StartLeading();
        await state.CommitAsync(2);
        await state.WaitForApplyAsync(2);

        Assert.Equal(2, log.LastCommittedEntryIndex);
        Assert.Equal(["a", "b"], machine.Applied);
    }

    [Fact]
    public async Task Open_DataDirectoryOfTheOtherLog_IsDetected()
    {
        var wal = Path.Combine(_root, "wal");
        Directory.CreateDirectory(wal);
        await File.WriteAllTextAsync(Path.Combine(wal, "checkpoint"), "x");

        Assert.True(MeshLogMigration.HasDotNextData(wal, Path.Combine(_root, "raft")));
        Assert.False(MeshLogMigration.HasMeshData(Path.Combine(_root, "raft")));
    }

    private static string TextOf(IRaftLogEntry entry) =>
        CommandFrame.TryUnwrap(((StoredEntry)entry).Payload, out var command) ? Encoding.UTF8.GetString(command.Span) : "(not a command)";

    private sealed record Captured(IReadOnlyList<IRaftLogEntry> Entries, long? SnapshotIndex);

    private sealed class Capture : ILogEntryConsumer<IRaftLogEntry, Captured>
    {
        public ValueTask<Captured> ReadAsync<TEntryImpl, TList>(TList entries, long? snapshotIndex, CancellationToken token)
            where TEntryImpl : IRaftLogEntry
            where TList : IReadOnlyList<TEntryImpl> =>
            new(new Captured(entries.Select(e => (IRaftLogEntry)e).ToArray(), snapshotIndex));
    }

    private sealed class SnapshotEntry(long term, byte[] state) : IRaftLogEntry
    {
        public long Term => term;

        public bool IsSnapshot => true;

        bool DotNext.IO.IDataTransferObject.IsReusable => true;

        long? DotNext.IO.IDataTransferObject.Length => state.Length;

        ValueTask DotNext.IO.IDataTransferObject.WriteToAsync<TWriter>(TWriter writer, CancellationToken token) => writer.Invoke(state, token);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // xunit 2 calls IAsyncLifetime, never IAsyncDisposable: this closes what each test opened.
    public async Task DisposeAsync()
    {
        await CloseAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
