namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The entries on disk: preallocated segment files written append-only, and in memory where each
/// entry is. Not thread-safe for writers: <see cref="MeshRaftLog"/> serialises appends, cuts and
/// compaction; <see cref="Sync"/> may run beside an append (the group commit), and takes a lock of
/// its own that every operation closing a segment takes too.
/// </summary>
internal sealed class SegmentedLog : IDisposable
{
    private readonly string _directory;
    private readonly long _segmentSize;
    private readonly List<Segment> _segments = [];
    private readonly List<(EntryLocation Entry, Segment Segment)> _entries = [];
    private readonly Lock _syncLock = new();
    private readonly Lock _dirtyLock = new();
    private readonly HashSet<Segment> _dirty = [];
    private long _firstIndex;
    private long _lastIndex;
    private long _durableIndex;

    private SegmentedLog(string directory, long segmentSize)
    {
        _directory = directory;
        _segmentSize = segmentSize;
    }

    /// <summary>The first entry held (entries before it are in the snapshot).</summary>
    public long FirstIndex => _firstIndex;

    /// <summary>The last entry written (in the page cache at least); <see cref="FirstIndex"/> - 1 when empty.</summary>
    public long LastIndex => Volatile.Read(ref _lastIndex);

    /// <summary>The last entry known to be on disk.</summary>
    public long DurableIndex => Volatile.Read(ref _durableIndex);

    public int SegmentCount => _segments.Count;

    /// <summary>
    /// Opens (or creates) the log in <paramref name="directory"/>, whose entries continue a snapshot
    /// at <paramref name="snapshotIndex"/> (term <paramref name="snapshotTerm"/>); up to
    /// <paramref name="keep"/> entries at or below the snapshot index that are still on disk stay
    /// readable (the tail kept for followers a little behind). A torn tail is cut at its first
    /// damaged frame; damage at or below <paramref name="committedFloor"/> (entries known
    /// committed, hence synced) is not a torn tail and fails the open.
    /// </summary>
    public static SegmentedLog Open(string directory, long snapshotIndex, long snapshotTerm, long committedFloor, long segmentSize, long keep = 0, Action<string>? report = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        Directory.CreateDirectory(directory);
        var log = new SegmentedLog(directory, segmentSize);
        try
        {
            log.Recover(snapshotIndex, snapshotTerm, committedFloor, keep, report);
            return log;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    private void Recover(long snapshotIndex, long snapshotTerm, long committedFloor, long keep, Action<string>? report)
    {
        var files = Directory.EnumerateFiles(_directory)
            .Select(path => Segment.TryParseName(Path.GetFileName(path), out var first) ? (Path: path, First: first) : default)
            .Where(f => f.Path is not null)
            .OrderBy(f => f.First)
            .ToList();
        // Segments wholly before the kept tail are garbage a crash left behind (compaction deletes them).
        var keepFrom = Math.Max(1, snapshotIndex + 1 - keep);
        var start = files.FindLastIndex(f => f.First <= keepFrom);
        foreach (var stale in files.Take(Math.Max(0, start)))
            File.Delete(stale.Path);
        files = start < 0 ? files : files.Skip(start).ToList();

        var firstOnDisk = files.Count > 0 ? files[0].First : snapshotIndex + 1;
        var expected = firstOnDisk;
        if (expected > snapshotIndex + 1)
            throw new InvalidDataException($"the raft log in {_directory} starts at entry {expected} but the snapshot ends at {snapshotIndex}: entries in between are missing");
        var term = 0L;
        var cut = false;
        foreach (var (path, first) in files)
        {
            if (cut || first != expected)
            {
                // After a cut (or a gap) nothing later can be trusted to follow on.
                if (first <= committedFloor && !cut)
                    throw new InvalidDataException($"the raft log in {_directory} has a gap before entry {first}, which was committed");
                report?.Invoke($"removing log segment {Path.GetFileName(path)} after the end of the intact log");
                File.Delete(path);
                cut = true;
                continue;
            }
            var segment = Segment.OpenExisting(path, first);
            _segments.Add(segment);
            var scan = SegmentScan.Scan(segment.ReadAll(), first, term);
            foreach (var entry in scan.Entries)
                _entries.Add((entry, segment));
            segment.WriteOffset = scan.ValidEnd;
            expected = first + scan.Entries.Count;
            if (scan.Entries.Count > 0)
                term = scan.Entries[^1].Term;
            if (scan.Damaged)
            {
                if (expected <= committedFloor)
                    throw new InvalidDataException($"the raft log segment {path} is damaged at entry {expected}, which this node had committed; move the data directory aside and let the node re-sync from the leader");
                report?.Invoke($"cutting a torn tail in {Path.GetFileName(path)} at entry {expected} (offset {scan.ValidEnd})");
                ZeroHeader(segment, scan.ValidEnd);
                cut = true;
            }
        }
        if (cut)
            Durable.SyncDirectory(_directory);

        var lastOnDisk = expected - 1;
        // The snapshot is committed state. A log that does not reach it, or holds another entry at
        // its index (a crash while a leader's snapshot replaced a diverged log), is not a history
        // that leads to it: nothing in it can be kept or served.
        var leadsToSnapshot = lastOnDisk >= snapshotIndex
            && (snapshotIndex < firstOnDisk || _entries[(int)(snapshotIndex - firstOnDisk)].Entry.Term == snapshotTerm);
        if (!leadsToSnapshot && _segments.Count > 0)
            report?.Invoke($"the log on disk (entries {firstOnDisk}-{lastOnDisk}) does not lead to the snapshot at {snapshotIndex} (term {snapshotTerm}); starting the log after the snapshot");
        // Entries before the kept tail stay on disk until their segment goes, but are not indexed.
        var firstKept = Math.Max(firstOnDisk, keepFrom);
        _entries.RemoveAll(e => e.Entry.Index < firstKept);
        _firstIndex = firstKept;
        _lastIndex = lastOnDisk;
        if (_segments.Count == 0 || !leadsToSnapshot)
            StartOver(snapshotIndex);
        // A process crash leaves written entries in the page cache, not on disk: make them durable
        // before anyone is told they are.
        foreach (var segment in _segments)
            Durable.SyncData(segment.Handle);
        _durableIndex = _lastIndex;
    }

    /// <summary>The term of an entry held here; null if it is not held.</summary>
    public EntryLocation? Find(long index)
    {
        var i = index - _firstIndex;
        if (i < 0 || i >= _entries.Count)
            return null;
        return _entries[(int)i].Entry;
    }

    public byte[] ReadPayload(long index)
    {
        var (entry, segment) = _entries[checked((int)(index - _firstIndex))];
        var payload = new byte[entry.PayloadLength];
        segment.Read(entry.PayloadOffset, payload);
        return payload;
    }

    /// <summary>Writes entry <see cref="LastIndex"/> + 1 (to the page cache; <see cref="Sync"/> makes it durable).</summary>
    public void Append(long term, EntryFlags flags, ReadOnlySpan<byte> payload)
    {
        var index = _lastIndex + 1;
        var size = EntryFrame.SizeOf(payload.Length);
        var segment = _segments[^1];
        if (segment.WriteOffset + size > segment.Capacity)
        {
            segment = Segment.Create(_directory, index, Math.Max(_segmentSize, size + EntryFrame.HeaderSize));
            _segments.Add(segment);
        }
        var frame = size <= 64 * 1024 ? new byte[size] : GC.AllocateUninitializedArray<byte>(size);
        EntryFrame.Write(frame, index, term, flags, payload);
        segment.Write(segment.WriteOffset, frame);
        _entries.Add((new EntryLocation(index, term, flags, segment.WriteOffset, payload.Length), segment));
        segment.WriteOffset += size;
        lock (_dirtyLock)
            _dirty.Add(segment);
        // Published last: a sync that sees this index also sees the segment as dirty.
        Volatile.Write(ref _lastIndex, index);
    }

    /// <summary>Makes everything written so far durable; returns the last durable index.</summary>
    public long Sync()
    {
        lock (_syncLock)
        {
            var target = Volatile.Read(ref _lastIndex);
            Segment[] dirty;
            lock (_dirtyLock)
            {
                dirty = [.. _dirty];
                _dirty.Clear();
            }
            foreach (var segment in dirty)
                Durable.SyncData(segment.Handle);
            if (target > _durableIndex)
                Volatile.Write(ref _durableIndex, target);
            return _durableIndex;
        }
    }

    /// <summary>Removes entry <paramref name="index"/> and everything after it, durably (a new leader replaced them).</summary>
    public void TruncateFrom(long index)
    {
        if (index > _lastIndex)
            return;
        if (index < _firstIndex)
            throw new InvalidOperationException($"cannot remove entry {index}: it is inside the snapshot (first entry held: {_firstIndex})");
        lock (_syncLock)
        {
            var (entry, segment) = _entries[(int)(index - _firstIndex)];
            var keep = _segments.IndexOf(segment);
            foreach (var later in _segments.Skip(keep + 1))
                Remove(later);
            _segments.RemoveRange(keep + 1, _segments.Count - keep - 1);
            _entries.RemoveRange((int)(index - _firstIndex), _entries.Count - (int)(index - _firstIndex));
            // Zeros where the first removed frame began: recovery stops there even if fewer new
            // entries are written over the old ones than there were.
            ZeroHeader(segment, entry.Offset);
            segment.WriteOffset = entry.Offset;
            Durable.SyncData(segment.Handle);
            Durable.SyncDirectory(_directory);
            Volatile.Write(ref _lastIndex, index - 1);
            Volatile.Write(ref _durableIndex, Math.Min(_durableIndex, index - 1));
        }
    }

    /// <summary>
    /// Forgets the entries at or below <paramref name="throughIndex"/> and deletes the segments
    /// that hold nothing else (never the one being written). After a snapshot the caller passes
    /// the snapshot index less the tail it keeps.
    /// </summary>
    public void Compact(long throughIndex)
    {
        lock (_syncLock)
        {
            var drop = 0;
            while (drop + 1 < _segments.Count && _segments[drop + 1].FirstIndex <= throughIndex + 1)
                drop++;
            if (drop > 0)
            {
                foreach (var segment in _segments.Take(drop))
                    Remove(segment);
                _segments.RemoveRange(0, drop);
                Durable.SyncDirectory(_directory);
            }
            var covered = (int)Math.Clamp(throughIndex + 1 - _firstIndex, 0, _entries.Count);
            _entries.RemoveRange(0, covered);
            _firstIndex += covered;
        }
    }

    /// <summary>Drops every entry and starts empty after an installed snapshot at <paramref name="snapshotIndex"/>.</summary>
    public void ResetTo(long snapshotIndex)
    {
        lock (_syncLock)
        {
            foreach (var segment in _segments)
                Remove(segment);
            _segments.Clear();
            _entries.Clear();
            StartOver(snapshotIndex);
            Volatile.Write(ref _durableIndex, snapshotIndex);
        }
    }

    private void StartOver(long snapshotIndex)
    {
        foreach (var segment in _segments)
            Remove(segment);
        _segments.Clear();
        _entries.Clear();
        var path = Path.Combine(_directory, Segment.NameOf(snapshotIndex + 1));
        if (File.Exists(path))
            File.Delete(path);
        _segments.Add(Segment.Create(_directory, snapshotIndex + 1, _segmentSize));
        _firstIndex = snapshotIndex + 1;
        Volatile.Write(ref _lastIndex, snapshotIndex);
    }

    private void Remove(Segment segment)
    {
        lock (_dirtyLock)
            _dirty.Remove(segment);
        segment.Dispose();
        File.Delete(segment.Path);
    }

    private static void ZeroHeader(Segment segment, long offset)
    {
        var length = (int)Math.Min(EntryFrame.HeaderSize, segment.Capacity - offset);
        if (length > 0)
            segment.Write(offset, new byte[length]);
    }

    public void Dispose()
    {
        lock (_syncLock)
        {
            foreach (var segment in _segments)
                segment.Dispose();
            _segments.Clear();
        }
    }
}
