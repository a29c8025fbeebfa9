// The access log lines waiting for the writer: an array that requests append to under a short
// lock, and that the writer takes whole, handing back the one it emptied last time. A batch costs
// the writer one lock and one swap however many lines it holds, and a request one lock and a copy:
// no wake-up, no allocation. Bounded: a full (or closed) queue refuses the line and the caller
// counts it as dropped. The arrays grow on demand, so a quiet sidecar never holds `bufferSize`
// entries; after a burst they are kept for reuse.
namespace Mesh.Sidecar.Telemetry;

internal sealed class AccessLogQueue
{
    private const int InitialSize = 64;

    private readonly Lock _lock = new();
    private readonly int _capacity;
    private AccessLogEntry[] _filling;
    private AccessLogEntry[] _spare;
    private int _count;
    private bool _closed;

    public AccessLogQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _filling = new AccessLogEntry[Math.Min(InitialSize, capacity)];
        _spare = new AccessLogEntry[_filling.Length];
    }

    public int Capacity => _capacity;

    /// <summary>How many lines wait (read without the lock: a hint).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Appends <paramref name="entry"/> and returns how many lines wait now (1: the first of a
    /// batch); 0 when the queue is full or closed, and the line was not taken.
    /// </summary>
    public int TryAdd(in AccessLogEntry entry)
    {
        lock (_lock)
        {
            if (_count == _capacity || _closed)
                return 0;
            if (_count == _filling.Length)
                Array.Resize(ref _filling, Math.Min(Math.Max(_filling.Length * 2, InitialSize), _capacity));
            _filling[_count] = entry;
            return ++_count;
        }
    }

    /// <summary>
    /// Takes every waiting line, in the order they were added; give the batch back with
    /// <see cref="Return"/> before the next call. <paramref name="closed"/>: no line will come
    /// after these.
    /// </summary>
    public ArraySegment<AccessLogEntry> TakeAll(out bool closed)
    {
        lock (_lock)
        {
            var batch = new ArraySegment<AccessLogEntry>(_filling, 0, _count);
            _filling = _spare;
            _spare = [];
            _count = 0;
            closed = _closed;
            return batch;
        }
    }

    /// <summary>The batch <see cref="TakeAll"/> gave, written: cleared (it holds the requests' strings) and kept for the next swap.</summary>
    public void Return(ArraySegment<AccessLogEntry> batch)
    {
        batch.AsSpan().Clear();
        lock (_lock)
            _spare = batch.Array!;
    }

    /// <summary>Refuses every line from now on; the lines already in stay for the writer's last <see cref="TakeAll"/>.</summary>
    public void Close()
    {
        lock (_lock)
            _closed = true;
    }
}
