// A token bucket on the System.Threading.RateLimiting abstraction whose clock is a TimeProvider.
// The framework's TokenBucketRateLimiter reads Stopwatch even with AutoReplenishment = false
// (TryReplenish adds rate × real elapsed time), so tests could not script it; this one refills
// lazily on each acquire from TimeProvider.GetTimestamp(), holds fractional tokens (a mesh-wide
// share of 100 rps over 3 sidecars is 33.3 rps) and queues by reservation: a waiting request takes
// its token ahead (the count goes negative, at most -queueLimit) and sleeps until it is covered.
using System.Threading.RateLimiting;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class TimeProviderTokenBucket : ReplenishingRateLimiter
{
    private static readonly RateLimitLease Acquired = new Lease(true, null);
    private static readonly RateLimitLease QueueFull = new Lease(false, null);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _tokensPerTick;
    private readonly double _capacity;
    private readonly int _queueLimit;
    private double _tokens;
    private long _lastTick;
    private long _fullSinceTick;
    private long _successful;
    private long _failed;

    public TimeProviderTokenBucket(double tokensPerSecond, double capacity, int queueLimit, TimeProvider time, double initialFill = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokensPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        TokensPerSecond = tokensPerSecond;
        _tokensPerTick = tokensPerSecond / time.TimestampFrequency;
        _capacity = capacity;
        _queueLimit = queueLimit;
        _tokens = capacity * Math.Clamp(initialFill, 0, 1);
        _lastTick = time.GetTimestamp();
        _fullSinceTick = _tokens >= capacity ? _lastTick : -1;
    }

    public double TokensPerSecond { get; }

    public double Capacity => _capacity;

    /// <summary>Tokens now (negative while requests wait), for tests and re-splits.</summary>
    public double Tokens
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _tokens;
            }
        }
    }

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _fullSinceTick < 0 ? null : _time.GetElapsedTime(_fullSinceTick);
            }
        }
    }

    public override bool IsAutoReplenishing => true;

    public override TimeSpan ReplenishmentPeriod => TimeSpan.Zero;

    public override bool TryReplenish() => false;

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Refill();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)Math.Max(0, _tokens),
                CurrentQueuedCount = (long)Math.Ceiling(Math.Max(0, -_tokens)),
                TotalSuccessfulLeases = Interlocked.Read(ref _successful),
                TotalFailedLeases = Interlocked.Read(ref _failed),
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_lock)
        {
            Refill();
            if (_tokens >= permitCount)
            {
                _tokens -= permitCount;
                _fullSinceTick = -1;
                _successful++;
                return Acquired;
            }
            _failed++;
            return new Lease(false, WaitFor(permitCount - _tokens));
        }
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_lock)
        {
            Refill();
            if (_tokens >= permitCount)
            {
                _tokens -= permitCount;
                _fullSinceTick = -1;
                _successful++;
                return Acquired;
            }
            if (_tokens - permitCount < -_queueLimit)
            {
                _failed++;
                return QueueFull;
            }
            _tokens -= permitCount;
            _fullSinceTick = -1;
            wait = WaitFor(-_tokens);
        }
        try
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                // Give the reserved token back: the next waiter's time does not move, the bucket just refills sooner.
                Refill();
                _tokens = Math.Min(_capacity, _tokens + permitCount);
                if (_tokens >= _capacity)
                    _fullSinceTick = _lastTick;
            }
            throw;
        }
        Interlocked.Increment(ref _successful);
        return Acquired;
    }

    private TimeSpan WaitFor(double tokens) =>
        TimeSpan.FromSeconds(Math.Max(tokens, 0) / TokensPerSecond);

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = now - _lastTick;
        if (elapsed <= 0)
            return;
        if (_tokens < _capacity)
        {
            var refilled = _tokens + elapsed * _tokensPerTick;
            if (refilled >= _capacity)
            {
                _fullSinceTick = _lastTick + (long)((_capacity - _tokens) / _tokensPerTick);
                refilled = _capacity;
            }
            _tokens = refilled;
        }
        _lastTick = now;
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        private static readonly string[] Names = [MetadataName.RetryAfter.Name];

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : Names;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } value && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = value;
                return true;
            }
            metadata = null;
            return false;
        }
    }
}
