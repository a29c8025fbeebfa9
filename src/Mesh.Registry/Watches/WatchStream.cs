namespace Mesh.Registry.Watches;

/// <summary>
/// One subscriber of the <see cref="WatchFanout"/>: a streaming watch's queue of encoded records,
/// filled by the fan-out (the same byte arrays for every stream) and drained by the one request
/// that writes them. While that writer has nothing to do it is parked here (<see cref="Park"/>),
/// and the first record, end, cut or wake hands it to the fan-out's <see cref="WatchWritePump"/>.
/// The queue is bounded in records: a stream whose reader falls that far behind
/// is cut (<see cref="CutAt"/>), its queue dropped, and its writer ends it with a "resume" record,
/// so a slow reader costs at most its bound, never a growing buffer. A bound is checked only
/// when a new index starts, so one command's events are never split by a cut.
/// </summary>
internal sealed class WatchStream
{
    private readonly Lock _gate = new();
    private readonly Queue<(long Index, byte[] Line)> _queue = new();
    private readonly int _capacity;
    private readonly Action<int> _pendingChanged;
    private readonly Action<IParkedWriter> _ready;
    private long _lastEnqueued;
    private long _cutAt = -1;
    private long _reportedIndex = -1;
    private string? _endReason;
    private bool _woken;
    private IParkedWriter? _parked;

    public WatchStream(IReadOnlyList<WatchTarget> targets, string caller, long after, int capacity, Action<int> pendingChanged, Action<IParkedWriter> ready)
    {
        _ready = ready;
        Targets = targets;
        Caller = caller;
        After = after;
        _capacity = capacity;
        _pendingChanged = pendingChanged;
        _lastEnqueued = after;
    }

    public IReadOnlyList<WatchTarget> Targets { get; }

    /// <summary>Who opened it (for the per-caller limit).</summary>
    public string Caller { get; }

    /// <summary>The index the stream started after; events at or below it are not sent.</summary>
    public long After { get; }

    /// <summary>The index the stream is complete up to when it starts: <see cref="After"/>, or the node's index when that is later.</summary>
    public long StartIndex { get; set; }

    /// <summary>
    /// The reader asked for records with the data of small nodes (<c>data=true</c>). Its writer then
    /// also ends every write that completes an index with a progress mark, so the reader knows at
    /// once that it has all of that index's records and can apply them.
    /// </summary>
    public bool WithData { get; init; }

    /// <summary>The reader hears only of nodes anyone may read (a join token, with authentication on; see <c>NodeReadAccess</c>).</summary>
    public bool SeesOnlyOpenNodes { get; init; }

    /// <summary>
    /// The index of the last progress mark its writer sent (-1: none yet). A progress tick wakes only
    /// the streams behind the node's index: a stream whose last mark is already there would wake to
    /// write nothing, and a node with thousands of quiet streams would do that for each every tick.
    /// </summary>
    public long ReportedIndex
    {
        get => Volatile.Read(ref _reportedIndex);
        set => Volatile.Write(ref _reportedIndex, value);
    }

    /// <summary>The fan-out's mark of the event it last delivered here (so overlapping watches send an event once).</summary>
    internal long LastDeliveredSequence { get; set; } = -1;

    /// <summary>The index whose records no longer fit; -1 while not cut.</summary>
    public long CutAt
    {
        get { lock (_gate) return _cutAt; }
    }

    /// <summary>Why the node ended the stream (it stops, or it installed a snapshot); null while it runs.</summary>
    public string? EndReason
    {
        get { lock (_gate) return _endReason; }
    }

    /// <summary>Called (on the fan-out's thread) when the stream is cut or ended, so a writer blocked on a slow socket can give up.</summary>
    public Action? Interrupted { get; set; }

    public int Pending
    {
        get { lock (_gate) return _queue.Count; }
    }

    public bool Matches(string eventPath)
    {
        foreach (var target in Targets)
        {
            if (target.Matches(eventPath))
                return true;
        }
        return false;
    }

    /// <summary>Whether one of the stream's targets is a prefix watch on exactly <paramref name="path"/>.</summary>
    public bool WatchesPrefix(string path)
    {
        foreach (var target in Targets)
        {
            if (target.Kind == WatchKind.Prefix && string.Equals(target.Path, path, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    public bool WantsTrustBundle
    {
        get
        {
            foreach (var target in Targets)
            {
                if (target.Kind == WatchKind.TrustBundle)
                    return true;
            }
            return false;
        }
    }

    /// <summary>Queues one record of <paramref name="index"/>; false when the stream is cut or ended (now or before).</summary>
    public bool TryEnqueue(long index, byte[] line)
    {
        IParkedWriter? parked;
        Action? interrupted = null;
        var queued = false;
        lock (_gate)
        {
            if (index <= After || _cutAt >= 0 || _endReason is not null)
                return false;
            if (_queue.Count >= _capacity && index != _lastEnqueued)
            {
                _cutAt = index;
                _pendingChanged(-_queue.Count);
                _queue.Clear();
                interrupted = Interrupted;
            }
            else
            {
                _queue.Enqueue((index, line));
                _lastEnqueued = index;
                _pendingChanged(1);
                queued = true;
            }
            parked = _parked;
            _parked = null;
        }
        if (parked is not null)
            _ready(parked);
        Interrupt(interrupted);
        return queued;
    }

    /// <summary>Ends the stream with <paramref name="reason"/>; its writer sends a resume record.</summary>
    public void End(string reason)
    {
        IParkedWriter? parked;
        Action? interrupted;
        lock (_gate)
        {
            if (_endReason is not null)
                return;
            _endReason = reason;
            parked = _parked;
            _parked = null;
            interrupted = Interrupted;
        }
        if (parked is not null)
            _ready(parked);
        Interrupt(interrupted);
    }

    // Off the fan-out's thread (which holds its lock): the writer's flush may continue inline and close the stream.
    private static void Interrupt(Action? interrupted)
    {
        if (interrupted is not null)
            ThreadPool.UnsafeQueueUserWorkItem(static action => Run(action), interrupted, preferLocal: false);
    }

    private static void Run(Action interrupted)
    {
        try
        {
            interrupted();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The response completed in the meantime: nothing is left to interrupt.
        }
    }

    /// <summary>Moves every queued record into <paramref name="into"/>; none once cut.</summary>
    public void Drain(List<(long Index, byte[] Line)> into)
    {
        lock (_gate)
        {
            if (_queue.Count == 0)
                return;
            _pendingChanged(-_queue.Count);
            into.AddRange(_queue);
            _queue.Clear();
        }
    }

    /// <summary>Drops what is queued (the stream is closed).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _pendingChanged(-_queue.Count);
            _queue.Clear();
        }
    }

    /// <summary>
    /// Wakes the writer without a record (a progress tick, or its request was aborted): a parked
    /// writer goes to the pump; one that is not parked finds the wake when it next tries to park.
    /// </summary>
    public void Wake()
    {
        IParkedWriter? parked;
        lock (_gate)
        {
            parked = _parked;
            _parked = null;
            _woken = parked is null;
        }
        if (parked is not null)
            _ready(parked);
    }

    /// <summary>
    /// Parks <paramref name="writer"/> until the stream has work for it (a record, its end or cut,
    /// a wake), which hands it to the pump once. False, and nothing parked, when there is work
    /// already: the writer goes on writing.
    /// </summary>
    public bool Park(IParkedWriter writer)
    {
        lock (_gate)
        {
            if (_woken || _queue.Count > 0 || _cutAt >= 0 || _endReason is not null)
            {
                _woken = false;
                return false;
            }
            _parked = writer;
            return true;
        }
    }
}
