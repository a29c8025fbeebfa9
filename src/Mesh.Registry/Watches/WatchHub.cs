using Mesh.Registry.Core.Events;

namespace Mesh.Registry.Watches;

/// <summary>
/// A bounded, in-memory history of applied change events (a ring buffer in index order) and the
/// waiters blocked on it. Every node fills its own hub from its apply loop, so a watch can resume
/// on any node with the same <c>after</c>. One applied batch completes one shared
/// <see cref="TaskCompletionSource"/>: the cost of a wake-up does not grow with the number of
/// waiters beyond each one rescanning the history from its own <c>after</c>.
/// </summary>
internal sealed class WatchHub
{
    /// <summary>Events per answer; an answer never stops inside one index, so resuming loses nothing.</summary>
    public const int MaxEventsPerResult = 10_000;

    private readonly object _gate = new();
    private readonly ChangeEvent[] _ring;
    private int _head;   // position of the oldest event
    private int _count;
    private long _historyStart; // every event with Index > _historyStart is in the ring
    private long _appliedIndex;
    private TaskCompletionSource _changed = NewSignal();
    private int _waiters;

    public WatchHub(int capacity = 100_000, WatchFanoutOptions? streams = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new ChangeEvent[capacity];
        Fanout = new WatchFanout(this, streams ?? new WatchFanoutOptions());
    }

    /// <summary>The streaming watches, fed from <see cref="Publish"/> after the long polls are woken.</summary>
    public WatchFanout Fanout { get; }

    public long AppliedIndex => Volatile.Read(ref _appliedIndex);

    public int Waiters => Volatile.Read(ref _waiters);

    public long HistoryStart
    {
        get { lock (_gate) return _historyStart; }
    }

    /// <summary>Forgets everything and starts history at <paramref name="index"/> (a snapshot was installed).</summary>
    public void Reset(long index)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            _head = 0;
            _count = 0;
            _historyStart = index;
            _appliedIndex = index;
            signal = SwapSignal();
        }
        signal.TrySetResult();
        Fanout.Reset(index);
    }

    /// <summary>Records the events of the command applied at <paramref name="index"/> and wakes the waiters.</summary>
    public void Publish(long index, IReadOnlyList<ChangeEvent> events)
    {
        TaskCompletionSource? signal;
        lock (_gate)
        {
            foreach (var e in events)
            {
                if (_count == _ring.Length)
                {
                    // Other events of the evicted one's index may remain, but that index is no longer whole.
                    _historyStart = Math.Max(_historyStart, _ring[_head].Index);
                    _head = (_head + 1) % _ring.Length;
                    _count--;
                }
                _ring[(_head + _count) % _ring.Length] = e;
                _count++;
            }
            if (index > _appliedIndex)
                _appliedIndex = index;
            signal = events.Count == 0 ? null : SwapSignal();
        }
        signal?.TrySetResult();
        Fanout.Dispatch(index, events);
    }

    /// <summary>
    /// Every kept event with an index in (<paramref name="after"/>, <paramref name="upTo"/>], in
    /// order; throws <see cref="IndexCompactedException"/> when history no longer reaches back to <paramref name="after"/>.
    /// </summary>
    public List<ChangeEvent> ReadRange(long after, long upTo)
    {
        lock (_gate)
        {
            if (after < _historyStart)
                throw new IndexCompactedException(after, _historyStart);
            var events = new List<ChangeEvent>();
            for (var i = FirstAfter(after); i < _count; i++)
            {
                var e = _ring[(_head + i) % _ring.Length];
                if (e.Index > upTo)
                    break;
                events.Add(e);
            }
            return events;
        }
    }

    /// <summary>
    /// Events with index greater than <paramref name="after"/> on <paramref name="path"/> (and below it
    /// when <paramref name="recursive"/>), waiting up to <paramref name="wait"/> for the first one.
    /// </summary>
    public async Task<WatchResult> WaitAsync(string path, bool recursive, long after, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        Interlocked.Increment(ref _waiters);
        try
        {
            while (true)
            {
                Task signal;
                lock (_gate)
                {
                    var result = Collect(path, recursive, after);
                    if (result.Events.Count > 0)
                        return result;
                    signal = _changed.Task;
                }
                try
                {
                    await signal.WaitAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    lock (_gate)
                        return Collect(path, recursive, after);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>Matching events after <paramref name="after"/> without waiting.</summary>
    public WatchResult Read(string path, bool recursive, long after)
    {
        lock (_gate)
            return Collect(path, recursive, after);
    }

    private WatchResult Collect(string path, bool recursive, long after)
    {
        if (after < _historyStart)
            throw new IndexCompactedException(after, _historyStart);
        var events = new List<ChangeEvent>();
        var lastIndex = 0L;
        for (var i = FirstAfter(after); i < _count; i++)
        {
            var e = _ring[(_head + i) % _ring.Length];
            if (events.Count >= MaxEventsPerResult && e.Index != lastIndex)
                return new WatchResult(lastIndex, events);
            if (Matches(e.Path, path, recursive))
            {
                events.Add(e);
                lastIndex = e.Index;
            }
        }
        return new WatchResult(events.Count > 0 ? lastIndex : Math.Max(after, _appliedIndex), events);
    }

    /// <summary>Position (0.._count) of the first event with Index &gt; after: binary search, the ring is sorted.</summary>
    private int FirstAfter(long after)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_ring[(_head + mid) % _ring.Length].Index <= after)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    internal static bool Matches(string eventPath, string path, bool recursive)
    {
        if (string.Equals(eventPath, path, StringComparison.Ordinal))
            return true;
        if (!recursive)
            return false;
        if (path == "/")
            return true;
        return eventPath.Length > path.Length && eventPath[path.Length] == '/' && eventPath.StartsWith(path, StringComparison.Ordinal);
    }

    private TaskCompletionSource SwapSignal()
    {
        var old = _changed;
        _changed = NewSignal();
        return old;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
