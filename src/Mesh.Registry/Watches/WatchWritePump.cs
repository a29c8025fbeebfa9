namespace Mesh.Registry.Watches;

/// <summary>
/// A stream's writer while it waits for work (<see cref="WatchStream.Park"/>). The pump runs it on
/// the pump's thread when its stream has records, a progress mark is due, or the stream ends or is
/// aborted; the writer then writes what there is and flushes, and parks again when the flush
/// completed at once (the usual case: the socket's buffer has room). It never throws.
/// </summary>
internal interface IParkedWriter
{
    void RunParked();
}

/// <summary>
/// Runs the parked writers of the streams that got work, in one pass per dispatched change instead
/// of one thread-pool work item, task continuation and wake-up per stream: at 10,000 streams a
/// change was 10,000 separate wake-ups, each its own trip through the thread pool. Writers become
/// ready while the fan-out queues a change (<see cref="Hold"/> .. <see cref="Release"/>), and the
/// pass starts once the change is queued to every stream, so each writer finds all of its records
/// and the progress mark that completes the index in one go. A writer whose flush has to wait for
/// its socket leaves the pump and waits on its own (a slow reader holds up no other stream).
/// </summary>
internal sealed class WatchWritePump
{
    private readonly Lock _gate = new();
    private readonly Action<WatchWritePump> _schedule;
    private List<IParkedWriter> _ready = [];
    private List<IParkedWriter> _spare = [];
    private int _scheduled;
    private int _holds;
    private long _passes;
    private long _runs;

    /// <param name="schedule">Starts <see cref="Run"/> elsewhere; default: a thread-pool work item.</param>
    public WatchWritePump(Action<WatchWritePump>? schedule = null)
    {
        _schedule = schedule ?? (static pump => ThreadPool.UnsafeQueueUserWorkItem(static p => p.Run(), pump, preferLocal: false));
    }

    /// <summary>Passes over the ready writers so far (a pass takes every writer ready when it starts).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Writers run so far.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>A parked writer has work (its stream took it off the stream, so it is handed here once).</summary>
    public void Ready(IParkedWriter writer)
    {
        lock (_gate)
            _ready.Add(writer);
        if (Volatile.Read(ref _holds) == 0)
            Schedule();
    }

    /// <summary>Writers made ready from here wait for <see cref="Release"/> (a change is being queued to its streams).</summary>
    public void Hold() => Interlocked.Increment(ref _holds);

    public void Release()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
            Schedule();
    }

    private void Schedule()
    {
        lock (_gate)
        {
            if (_ready.Count == 0)
                return;
        }
        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
            _schedule(this);
    }

    /// <summary>Runs every ready writer, and those made ready meanwhile, until none is left.</summary>
    public void Run()
    {
        while (true)
        {
            List<IParkedWriter> batch;
            lock (_gate)
            {
                if (_ready.Count == 0)
                {
                    // Let the next Ready schedule a run: any writer added after this sees the flag down.
                    Volatile.Write(ref _scheduled, 0);
                    return;
                }
                batch = _ready;
                _ready = _spare;
                _spare = [];
            }
            Interlocked.Increment(ref _passes);
            foreach (var writer in batch)
                writer.RunParked();
            Interlocked.Add(ref _runs, batch.Count);
            batch.Clear();
            lock (_gate)
                _spare = batch;
        }
    }
}
