using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;
using ChangeEvent = Mesh.Registry.Core.Events.ChangeEvent;

namespace Mesh.Registry.Watches;

/// <summary>How streaming watches are served by one node: records a reader may fall behind, how often quiet streams get a progress mark, streams and watches per caller.</summary>
internal sealed record WatchFanoutOptions
{
    public int BufferRecords { get; init; } = 4_096;

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    public int MaxStreamsPerCaller { get; init; } = 1_024;

    /// <summary>Watches (over all its streams) one caller may hold: what a caller costs the fan-out grows with its watches, not its streams.</summary>
    public int MaxWatchesPerCaller { get; init; } = 65_536;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How the writers' pump is started (<see cref="WatchWritePump"/>); null: on the thread pool. Tests run it inline.</summary>
    public Action<WatchWritePump>? SchedulePump { get; init; }

    /// <summary>
    /// Another path a change counts as for prefix watches on exactly that path, or null: the
    /// service whose Curator instance changed (<see cref="Api.Services.CuratorInstances.ServicePathOf"/>),
    /// so a stream watching <c>/services/NAME</c> hears of its Curator instances under another base path.
    /// </summary>
    public Func<string, string?>? AliasOf { get; init; }
}

/// <summary>A caller holds as many streams, or watches over all its streams, as it may.</summary>
internal sealed class TooManyStreamsException(string message) : Exception(message)
{
    public static TooManyStreamsException Streams(string caller, int limit) =>
        new($"{caller} already holds {limit} watch streams on this node, the most one caller may; close one or watch more paths on one stream");

    public static TooManyStreamsException Watches(string caller, int held, int asked, int limit) =>
        new($"{caller} holds {held} watches on this node's streams and asks for {asked} more; one caller may hold at most {limit} (--max-watches-per-caller): close streams or watch prefixes instead of many paths");
}

/// <summary>
/// Streaming watches (<c>GET /v1/watch-stream</c>) on this node, fed from its apply loop through
/// <see cref="WatchHub.Publish"/>. Streams are indexed by what they watch (exact path, path
/// prefix, trust bundle), so an applied change costs a few dictionary lookups (its path and its
/// ancestors) plus one queue append per stream that wants it, not a scan of every stream; the
/// change is encoded at most once and the same bytes are queued to every stream. Each stream's
/// queue is bounded (<see cref="WatchStream"/>). The writers of the streams a change reached then
/// run in one pass of the <see cref="WatchWritePump"/>, not each on a wake-up of its own. A stream
/// that subscribes with an older index is first given the kept history after it, so joining,
/// resuming and failing over lose nothing.
/// </summary>
internal sealed class WatchFanout : IDisposable
{
    private readonly Lock _gate = new();
    private readonly WatchHub _hub;
    private readonly WatchFanoutOptions _options;
    private readonly WatchWritePump _pump;
    private readonly Dictionary<string, HashSet<WatchStream>> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<WatchStream>> _prefix = new(StringComparer.Ordinal);
    private readonly HashSet<WatchStream> _trust = [];
    private readonly HashSet<WatchStream> _all = [];
    private readonly Dictionary<string, (int Streams, int Watches)> _perCaller = new(StringComparer.Ordinal);
    private ITimer? _ticker;
    private long _ticks;
    private long _dispatched;
    private long _sequence;
    private long _buffered;
    private string? _stopped;
    private EncodedProgress? _progress;

    public WatchFanout(WatchHub hub, WatchFanoutOptions options)
    {
        _hub = hub;
        _options = options;
        _pump = new WatchWritePump(options.SchedulePump);
        _dispatched = hub.AppliedIndex;
    }

    public WatchFanoutOptions Options => _options;

    /// <summary>Runs the parked writers of the streams that got work.</summary>
    public WatchWritePump Pump => _pump;

    /// <summary>
    /// The data of a node whose data last changed at the given index (<c>RegistryStore.ValueAt</c>),
    /// read when a <c>data=true</c> stream wants a change's record; null: records carry no data.
    /// </summary>
    public Func<string, long, WatchValue?>? ValueOf { get; set; }

    /// <summary>
    /// Whether anyone may read a node (<c>RegistryStore.IsOpenToAnyone</c>): a stream that
    /// <see cref="WatchStream.SeesOnlyOpenNodes"/> hears of no other. Null: every node is.
    /// </summary>
    public Func<string, bool>? IsOpenToAnyone { get; set; }

    /// <summary>Every change up to this index has been queued to the streams that want it.</summary>
    public long DispatchedIndex => Volatile.Read(ref _dispatched);

    /// <summary>Records queued and not yet taken by their writers, over all streams.</summary>
    public long BufferedRecords => Interlocked.Read(ref _buffered);

    public int Streams
    {
        get { lock (_gate) return _all.Count; }
    }

    /// <summary>Progress ticks so far: a writer that sees it move sends a progress mark (a tick wakes every stream whose last mark is behind the index).</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>
    /// Opens a stream of the changes after <paramref name="after"/> that <paramref name="targets"/>
    /// cover. Throws <see cref="IndexCompactedException"/> when the history no longer reaches back
    /// to <paramref name="after"/>, <see cref="TooManyStreamsException"/> over the per-caller limit.
    /// </summary>
    public WatchStream Subscribe(IReadOnlyList<WatchTarget> targets, string caller, long after, bool withData = false, bool seesOnlyOpenNodes = false)
    {
        lock (_gate)
        {
            if (_stopped is not null)
                throw new InvalidOperationException(_stopped);
            var held = _perCaller.GetValueOrDefault(caller);
            if (held.Streams >= _options.MaxStreamsPerCaller)
                throw TooManyStreamsException.Streams(caller, _options.MaxStreamsPerCaller);
            if (held.Watches + targets.Count > _options.MaxWatchesPerCaller)
                throw TooManyStreamsException.Watches(caller, held.Watches, targets.Count, _options.MaxWatchesPerCaller);
            _perCaller[caller] = (held.Streams + 1, held.Watches + targets.Count);
            // One timer for every stream, from the first: each writer waits on the shared tick, not a timer of its own.
            _ticker ??= _options.TimeProvider.CreateTimer(_ => Tick(), null, _options.ProgressInterval, _options.ProgressInterval);
        }
        try
        {
            var stream = new WatchStream(targets, caller, after, _options.BufferRecords, AddBuffered, _pump.Ready) { WithData = withData, SeesOnlyOpenNodes = seesOnlyOpenNodes };
            // The history up to what was dispatched, read without holding up the apply loop...
            var upTo = DispatchedIndex;
            if (after < upTo)
                CatchUp(stream, after, upTo);
            lock (_gate)
            {
                // ...then what was dispatched meanwhile, and from here on the live changes.
                var now = _dispatched;
                if (now > upTo && after < now)
                    CatchUp(stream, Math.Max(after, upTo), now);
                Register(stream);
                stream.StartIndex = Math.Max(after, now);
                if (_stopped is not null)
                    stream.End(_stopped);
            }
            return stream;
        }
        catch
        {
            Release(caller, targets.Count);
            throw;
        }
    }

    public void Unsubscribe(WatchStream stream)
    {
        lock (_gate)
        {
            if (!_all.Remove(stream))
                return;
            foreach (var target in stream.Targets)
            {
                switch (target.Kind)
                {
                    case WatchKind.Exact:
                        Remove(_exact, target.Path, stream);
                        break;
                    case WatchKind.Prefix:
                        Remove(_prefix, target.Path, stream);
                        break;
                    default:
                        _trust.Remove(stream);
                        break;
                }
            }
            ReleaseLocked(stream.Caller, stream.Targets.Count);
        }
        stream.Clear();
    }

    /// <summary>Queues the changes of the command applied at <paramref name="index"/> to the streams that want them (the apply loop's thread).</summary>
    public void Dispatch(long index, IReadOnlyList<ChangeEvent> events)
    {
        // The writers this change reaches run once all of them have it (and the index is dispatched).
        _pump.Hold();
        try
        {
            DispatchLocked(index, events);
        }
        finally
        {
            _pump.Release();
        }
    }

    private void DispatchLocked(long index, IReadOnlyList<ChangeEvent> events)
    {
        lock (_gate)
        {
            foreach (var change in events)
            {
                var sequence = ++_sequence;
                if (RegistryCertificateAuthority.IsCaPath(change.Path))
                {
                    // The CA's nodes are never shown; a trust-bundle watcher hears that the roots changed.
                    if (_trust.Count > 0 && IsTrustChange(change))
                    {
                        var trustLine = TrustLine(index);
                        foreach (var stream in _trust)
                            Deliver(stream, sequence, index, trustLine);
                    }
                    continue;
                }
                var lines = new ChangeLines(change, _options.AliasOf?.Invoke(change.Path), ValueOf, IsOpenToAnyone);
                if (_exact.TryGetValue(change.Path, out var exact))
                    DeliverAll(exact, sequence, index, ref lines);
                if (_prefix.Count > 0)
                {
                    var prefixes = _prefix.GetAlternateLookup<ReadOnlySpan<char>>();
                    var path = change.Path.AsSpan();
                    // The path itself, then each ancestor up to the root.
                    for (var end = path.Length; end > 0; end = path[..end].LastIndexOf('/'))
                    {
                        if (prefixes.TryGetValue(path[..end], out var streams))
                            DeliverAll(streams, sequence, index, ref lines);
                    }
                    if (path.Length > 1 && _prefix.TryGetValue("/", out var root))
                        DeliverAll(root, sequence, index, ref lines);
                    if (lines.Alias is { } alias && _prefix.TryGetValue(alias, out var aliased))
                        DeliverAll(aliased, sequence, index, ref lines);
                }
            }
            if (index > _dispatched)
                Volatile.Write(ref _dispatched, index);
        }
    }

    /// <summary>
    /// Returns once the command being dispatched (if any) is queued to every stream: a writer that
    /// took some of an index's records before the rest were queued waits here, then takes the rest.
    /// </summary>
    public void WaitForDispatch()
    {
        lock (_gate)
        {
        }
    }

    /// <summary>A snapshot replaced the state at <paramref name="index"/>: the changes before it are gone, so every stream ends and resumes (or re-reads).</summary>
    public void Reset(long index)
    {
        lock (_gate)
        {
            // Ended before the index moves: a writer that sees the new index also sees its stream ended,
            // so it never reports the skipped changes as sent.
            foreach (var stream in _all)
                stream.End($"this node installed a snapshot at index {index}");
            Volatile.Write(ref _dispatched, index);
        }
    }

    /// <summary>Stops the progress ticks and ends every stream (the node is stopping): their readers resume on another node.</summary>
    public void Dispose()
    {
        List<WatchStream> streams;
        lock (_gate)
        {
            _stopped ??= "this registry node is stopping";
            streams = [.. _all];
        }
        _ticker?.Dispose();
        foreach (var stream in streams)
            stream.End(_stopped);
    }

    private void Tick()
    {
        WatchStream[] streams;
        lock (_gate)
        {
            Interlocked.Increment(ref _ticks);
            streams = [.. _all];
        }
        // Those whose last progress mark is behind the index: the others have nothing to say.
        var dispatched = DispatchedIndex;
        _pump.Hold();
        try
        {
            foreach (var stream in streams)
            {
                if (stream.ReportedIndex < dispatched)
                    stream.Wake();
            }
        }
        finally
        {
            _pump.Release();
        }
    }

    private void CatchUp(WatchStream stream, long after, long upTo)
    {
        var wantsTrust = stream.WantsTrustBundle;
        foreach (var change in _hub.ReadRange(after, upTo))
        {
            if (RegistryCertificateAuthority.IsCaPath(change.Path))
            {
                if (wantsTrust && IsTrustChange(change))
                    stream.TryEnqueue(change.Index, TrustLine(change.Index));
            }
            else if (_options.AliasOf?.Invoke(change.Path) is var alias && (stream.Matches(change.Path) || alias is not null && stream.WatchesPrefix(alias))
                && !(stream.SeesOnlyOpenNodes && IsOpenToAnyone?.Invoke(change.Path) == false))
            {
                stream.TryEnqueue(change.Index, WatchRecords.Change(change, alias));
            }
            // More history than the stream may hold: cutting it now would send "resume from
            // `after`" before a byte went out, and the reader would come back to the same cut for
            // ever. A re-read is what gets such a reader going again.
            if (stream.CutAt >= 0)
                throw new IndexCompactedException(after, stream.CutAt,
                    $"More than {_options.BufferRecords} changes this stream watches came after index {after}, more than a stream may catch up on; re-read and watch from the read's index.");
        }
    }

    /// <summary>
    /// The progress line for <paramref name="index"/>, encoded once for every stream that reports
    /// it: at a tick most streams are complete up to the same (the dispatched) index.
    /// </summary>
    public byte[] ProgressLine(long index)
    {
        var cached = Volatile.Read(ref _progress);
        if (cached?.Index == index)
            return cached.Line;
        var line = WatchRecords.Line(new WatchStreamRecord(WatchStreamRecord.Progress, index));
        Volatile.Write(ref _progress, new EncodedProgress(index, line));
        return line;
    }

    private sealed record EncodedProgress(long Index, byte[] Line);

    private static bool IsTrustChange(ChangeEvent change) =>
        change.Path == RegistryCertificateAuthority.MaterialPath && change.Type is ChangeEventType.Created or ChangeEventType.DataChanged;

    private static byte[] TrustLine(long index) => WatchRecords.Line(new WatchStreamRecord(WatchStreamRecord.TrustBundle, index));

    private static void DeliverAll(HashSet<WatchStream> streams, long sequence, long index, ref ChangeLines lines)
    {
        foreach (var stream in streams)
        {
            if (stream.LastDeliveredSequence != sequence && !lines.IsHiddenFrom(stream))
                Deliver(stream, sequence, index, lines.For(stream));
        }
    }

    /// <summary>
    /// A change's record in the two forms a stream may ask for, each encoded at most once and
    /// only when a stream wants it: the bare record, and the one that carries the node's data
    /// (<c>data=true</c>), the same bytes as the bare one when there is no data to carry.
    /// </summary>
    private struct ChangeLines(ChangeEvent change, string? alias, Func<string, long, WatchValue?>? valueOf, Func<string, bool>? isOpenToAnyone)
    {
        private byte[]? _bare;
        private byte[]? _withData;
        private bool? _open;

        /// <summary>A join token's stream does not hear of a node that not anyone may read (looked up once per change, and only for such a stream).</summary>
        public bool IsHiddenFrom(WatchStream stream) => stream.SeesOnlyOpenNodes && !(_open ??= isOpenToAnyone?.Invoke(change.Path) ?? true);

        public readonly string? Alias => alias;

        public byte[] For(WatchStream stream) => stream.WithData ? _withData ??= WithData() : Bare();

        private byte[] Bare() => _bare ??= WatchRecords.Change(change, alias);

        private byte[] WithData()
        {
            if (change.Type is ChangeEventType.Created or ChangeEventType.DataChanged
                && valueOf?.Invoke(change.Path, change.Index) is { } value && value.Data.Length <= WatchRecords.MaxValueBytes)
            {
                return WatchRecords.Change(change, alias, value);
            }
            return Bare();
        }
    }

    private static void Deliver(WatchStream stream, long sequence, long index, byte[] line)
    {
        // A stream with overlapping watches (/a and /a/b) gets each change once.
        if (stream.LastDeliveredSequence == sequence)
            return;
        stream.LastDeliveredSequence = sequence;
        stream.TryEnqueue(index, line);
    }

    private void Register(WatchStream stream)
    {
        _all.Add(stream);
        foreach (var target in stream.Targets)
        {
            switch (target.Kind)
            {
                case WatchKind.Exact:
                    Add(_exact, target.Path, stream);
                    break;
                case WatchKind.Prefix:
                    Add(_prefix, target.Path, stream);
                    break;
                default:
                    _trust.Add(stream);
                    break;
            }
        }
    }

    private static void Add(Dictionary<string, HashSet<WatchStream>> index, string path, WatchStream stream)
    {
        if (!index.TryGetValue(path, out var streams))
            index[path] = streams = [];
        streams.Add(stream);
    }

    private static void Remove(Dictionary<string, HashSet<WatchStream>> index, string path, WatchStream stream)
    {
        if (index.TryGetValue(path, out var streams) && streams.Remove(stream) && streams.Count == 0)
            index.Remove(path);
    }

    private void Release(string caller, int watches)
    {
        lock (_gate)
            ReleaseLocked(caller, watches);
    }

    private void ReleaseLocked(string caller, int watches)
    {
        if (_perCaller.TryGetValue(caller, out var held))
        {
            if (held.Streams <= 1)
                _perCaller.Remove(caller);
            else
                _perCaller[caller] = (held.Streams - 1, held.Watches - watches);
        }
    }

    private void AddBuffered(int delta) => Interlocked.Add(ref _buffered, delta);

}
