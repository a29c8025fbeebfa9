// Fixed and sliding windows on the System.Threading.RateLimiting abstraction, replenished only by
// TryReplenish, which the strategy calls from a TimeProvider timer at each segment boundary.
// The framework's FixedWindowRateLimiter / SlidingWindowRateLimiter cannot be used that way: in
// manual mode they ignore a TryReplenish that comes before a window (segment) of *Stopwatch* time
// has passed, so tests could not script them. A fixed window is a sliding window of one segment.
// Queued requests wait in order and take permits as segments free them.
using System.Threading.RateLimiting;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class TimeProviderWindowLimiter : ReplenishingRateLimiter
{
    private static readonly RateLimitLease Acquired = new WindowLease(true);
    private static readonly RateLimitLease Refused = new WindowLease(false);

    private readonly Lock _lock = new();
    private readonly int _limit;
    private readonly int _queueLimit;
    private readonly int[] _segments;
    private readonly TimeSpan _segment;
    private readonly Queue<Waiter> _queue = new();
    private int _available;
    private int _current;
    private int _queued;
    private long _successful;
    private long _failed;
    private bool _disposed;

    public TimeProviderWindowLimiter(int limit, TimeSpan window, int segments, int queueLimit)
    {
        _limit = limit;
        _available = limit;
        _queueLimit = queueLimit;
        _segments = new int[segments];
        _segment = window / segments;
    }

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
                return _available == _limit && _queued == 0 ? TimeSpan.Zero : null;
        }
    }

    public override bool IsAutoReplenishing => false;

    public override TimeSpan ReplenishmentPeriod => _segment;

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = _available,
                CurrentQueuedCount = _queued,
                TotalSuccessfulLeases = _successful,
                TotalFailedLeases = _failed,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_queued == 0 && _available >= permitCount)
            {
                Take(permitCount);
                return Acquired;
            }
            _failed++;
            return Refused;
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_queued == 0 && _available >= permitCount)
            {
                Take(permitCount);
                return new(Acquired);
            }
            if (_queued + permitCount > _queueLimit)
            {
                _failed++;
                return new(Refused);
            }
            waiter = new Waiter(this, permitCount);
            _queue.Enqueue(waiter);
            _queued += permitCount;
        }
        if (cancellationToken.CanBeCanceled)
            waiter.Registration = cancellationToken.UnsafeRegister(static (s, token) => ((Waiter)s!).Cancel(token), waiter);
        return new(waiter.Task);
    }

    /// <summary>Moves to the next segment: the permits taken in the segment leaving the window come back.</summary>
    public override bool TryReplenish()
    {
        List<Waiter>? released = null;
        lock (_lock)
        {
            if (_disposed)
                return false;
            _current = (_current + 1) % _segments.Length;
            _available += _segments[_current];
            _segments[_current] = 0;
            while (_queue.TryPeek(out var next) && (next.Task.IsCompleted || _available >= next.Count))
            {
                _queue.Dequeue();
                if (next.Task.IsCompleted)
                    continue;
                _queued -= next.Count;
                Take(next.Count);
                (released ??= []).Add(next);
            }
        }
        // Completing outside the lock: continuations never run under it.
        if (released is not null)
        {
            foreach (var waiter in released)
                waiter.Complete(Acquired);
        }
        return true;
    }

    private void Take(int count)
    {
        _available -= count;
        _segments[_current] += count;
        _successful++;
    }

    protected override void Dispose(bool disposing)
    {
        Waiter[] waiting;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            waiting = [.. _queue];
            _queue.Clear();
            _queued = 0;
        }
        foreach (var waiter in waiting)
            waiter.Complete(Refused);
    }

    private sealed class Waiter(TimeProviderWindowLimiter owner, int count) : TaskCompletionSource<RateLimitLease>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public int Count { get; } = count;

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(RateLimitLease lease)
        {
            TrySetResult(lease);
            Registration.Dispose();
        }

        public void Cancel(CancellationToken token)
        {
            lock (owner._lock)
            {
                if (!TrySetCanceled(token))
                    return;
                owner._queued -= Count;
                owner._failed++;
            }
        }
    }

    private sealed class WindowLease(bool acquired) : RateLimitLease
    {
        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
