// One rate limit in force: its limiter (route-wide) or partitions (per key), built from the
// options scaled by this sidecar's mesh-wide share. All limiters are System.Threading.RateLimiting
// RateLimiters: the framework's ConcurrencyLimiter, and for rates TimeProviderTokenBucket and
// TimeProviderWindowLimiter (the framework's rate limiters read Stopwatch, see those files), the
// windows replenished by a timer on the injected TimeProvider. A new share
// builds a new generation, swapped whole; requests in flight finish on the one they started with.
using System.Diagnostics.CodeAnalysis;
using System.Threading.RateLimiting;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class RateLimitStrategy : IDisposable
{
    /// <summary>Unused partitions older than this (and holding no state) are dropped.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly RateLimitKeySelector _keys;
    private readonly long _idleTicks;
    private Generation _generation;
    private int _disposed;

    public RateLimitStrategy(RateLimitOptions options, TimeProvider time, double share = 1)
    {
        if (options.Validate().FirstOrDefault() is { Field: not null } problem)
            throw new ArgumentException($"rate limit '{options.Name}': {problem.Field}: {problem.Message}", nameof(options));
        Options = options;
        _time = time;
        _keys = new RateLimitKeySelector(options);
        _idleTicks = (long)(IdleTimeout.TotalSeconds * time.TimestampFrequency);
        _generation = new Generation(this, options.MeshWide ? share : 1, previous: null);
    }

    public RateLimitOptions Options { get; }

    public string Name => Options.Name;

    public int QueueLimit => Options.QueueLimit;

    /// <summary>The share in force (1 unless mesh-wide).</summary>
    public double Share => Volatile.Read(ref _generation).Share;

    /// <summary>The limit this sidecar enforces now: tokens per second, or permits per window / in flight.</summary>
    public double EffectiveLimit => Volatile.Read(ref _generation).Limit;

    /// <summary>`RateLimit-Policy` field value, e.g. <c>"catalog";q=100;w=1</c>.</summary>
    public string PolicyHeader => Volatile.Read(ref _generation).PolicyHeader;

    public int PartitionCount => Volatile.Read(ref _generation).Partitions?.Count ?? 1;

    /// <summary>Applies a new mesh-wide share (a no-op for local limits or an unchanged share).</summary>
    public void SetShare(double share)
    {
        if (!Options.MeshWide || Volatile.Read(ref _disposed) != 0)
            return;
        var old = Volatile.Read(ref _generation);
        if (Math.Abs(old.Share - share) < 1e-9)
            return;
        Volatile.Write(ref _generation, new Generation(this, share, old));
        old.Dispose();
    }

    /// <summary>The hot path: no allocation for route-wide limits and for keys seen before.</summary>
    public RateLimitLease AttemptAcquire(HttpContext context)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return Limiter(context).AttemptAcquire(1);
            }
            catch (ObjectDisposedException) when (attempt == 0)
            {
                // The limiter was evicted or its generation replaced just now: look it up again.
            }
        }
    }

    public async ValueTask<RateLimitLease> AcquireAsync(HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await Limiter(context).AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return await Limiter(context).AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>When a rejected request may try again: the lease's hint, or the next replenishment.</summary>
    public TimeSpan RetryAfter(RateLimitLease lease)
    {
        if (lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && Options.Kind == RateLimitKind.TokenBucket)
            return retryAfter;
        var generation = Volatile.Read(ref _generation);
        return Options.Kind switch
        {
            RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow => _time.GetElapsedTime(_time.GetTimestamp(), generation.NextReplenish),
            // A token bucket that rejects a waiter-free request lacks less than one token.
            RateLimitKind.TokenBucket => TimeSpan.FromSeconds(1 / generation.Limit),
            _ => TimeSpan.FromSeconds(1),
        };
    }

    private RateLimiter Limiter(HttpContext context)
    {
        var generation = Volatile.Read(ref _generation);
        if (generation.Single is { } single)
            return single;
        Span<char> buffer = stackalloc char[RateLimitKeySelector.BufferLength];
        var key = _keys.KeyOf(context, buffer);
        return generation.Partitions!.Get(key, _time.GetTimestamp());
    }

    /// <summary>Stops replenishing (the strategy was replaced); requests already holding it still get answers.</summary>
    public void Retire() => Volatile.Read(ref _generation).StopTimer();

    internal RateLimitPartitions? PartitionsForTests => Volatile.Read(ref _generation).Partitions;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            Volatile.Read(ref _generation).Dispose();
    }

    /// <summary>The limiters for one share; immutable but for the limiters' own counts.</summary>
    private sealed class Generation : IDisposable
    {
        private readonly RateLimitStrategy _owner;
        private readonly ITimer? _timer;
        private readonly TimeSpan _period;
        private long _nextReplenish;
        private long _lastSweep;

        public Generation(RateLimitStrategy owner, double share, Generation? previous)
        {
            _owner = owner;
            Share = share;
            var options = owner.Options;
            var time = owner._time;
            (Limit, var factory) = Build(options, share, time, previous);
            PolicyHeader = RateLimitHeaders.Policy(options, Limit);
            if (options.Key == RateLimitKeyKind.Route)
                Single = factory();
            else
                Partitions = new RateLimitPartitions(factory, options.MaxPartitions);

            _period = options.Kind switch
            {
                RateLimitKind.FixedWindow => options.Window,
                RateLimitKind.SlidingWindow => options.Window / options.SegmentsPerWindow,
                _ => TimeSpan.Zero,
            };
            _lastSweep = time.GetTimestamp();
            if (_period > TimeSpan.Zero)
            {
                _nextReplenish = time.GetTimestamp() + (long)(_period.TotalSeconds * time.TimestampFrequency);
                _timer = time.CreateTimer(static s => ((Generation)s!).Tick(), this, _period, _period);
            }
            else if (Partitions is not null)
            {
                _timer = time.CreateTimer(static s => ((Generation)s!).Tick(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            }
        }

        public double Share { get; }

        public double Limit { get; }

        public string PolicyHeader { get; }

        public RateLimiter? Single { get; }

        public RateLimitPartitions? Partitions { get; }

        public long NextReplenish => Volatile.Read(ref _nextReplenish);

        private void Tick()
        {
            var time = _owner._time;
            var now = time.GetTimestamp();
            if (_period > TimeSpan.Zero)
            {
                Volatile.Write(ref _nextReplenish, now + (long)(_period.TotalSeconds * time.TimestampFrequency));
                (Single as ReplenishingRateLimiter)?.TryReplenish();
                Partitions?.Replenish();
            }
            if (Partitions is not null && now - _lastSweep >= time.TimestampFrequency)
            {
                _lastSweep = now;
                Partitions.SweepIdle(now, _owner._idleTicks);
            }
        }

        private static (double Limit, Func<RateLimiter> Factory) Build(RateLimitOptions options, double share, TimeProvider time, Generation? previous)
        {
            var queue = options.QueueLimit;
            switch (options.Kind)
            {
                case RateLimitKind.TokenBucket:
                    {
                        var rate = Math.Max(options.RequestsPerSecond * share, 1e-3);
                        var capacity = Math.Max(options.EffectiveBurst * share, 1);
                        // A re-split keeps the route-wide bucket's fill level, so it is no free burst.
                        var fill = previous?.Single is TimeProviderTokenBucket old ? Math.Max(0, old.Tokens) / old.Capacity : 1;
                        return (rate, () => new TimeProviderTokenBucket(rate, capacity, queue, time, fill));
                    }
                case RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow:
                    {
                        var permits = Permits(options.Limit, share);
                        var segments = options.Kind == RateLimitKind.FixedWindow ? 1 : options.SegmentsPerWindow;
                        return (permits, () => new TimeProviderWindowLimiter(permits, options.Window, segments, queue));
                    }
                default:
                    {
                        var permits = Permits(options.Limit, share);
                        var limiterOptions = new ConcurrencyLimiterOptions { PermitLimit = permits, QueueLimit = queue };
                        return (permits, () => new ConcurrencyLimiter(limiterOptions));
                    }
            }
        }

        private static int Permits(int limit, double share) => Math.Max(1, (int)Math.Round(limit * share));

        public void StopTimer() => _timer?.Dispose();

        public void Dispose()
        {
            _timer?.Dispose();
            Single?.Dispose();
            Partitions?.Dispose();
        }
    }
}

/// <summary>Where the partition key of a request comes from; writes it into a caller's buffer when it must be formatted.</summary>
internal sealed class RateLimitKeySelector(RateLimitOptions options)
{
    public const int BufferLength = 64;
    public const string CallerHeader = "x-mesh-caller";
    public const string Anonymous = "anonymous";

    private readonly string _header = options.KeyHeader ?? "";

    public ReadOnlySpan<char> KeyOf(HttpContext context, Span<char> buffer)
    {
        switch (options.Key)
        {
            case RateLimitKeyKind.Header:
                // Kestrel already made the value a string; missing: one shared "" partition.
                return context.Request.Headers.TryGetValue(_header, out var value) && value.Count > 0 ? value[0] : "";
            case RateLimitKeyKind.Caller:
                return CallerIdentity.Of(context);
            case RateLimitKeyKind.ClientIp:
                var address = context.Connection.RemoteIpAddress;
                return address is not null && address.TryFormat(buffer, out var written) ? buffer[..written] : "unknown";
            default:
                return "";
        }
    }
}

/// <summary>The caller's identity as a key: the certificate's SPIFFE id (formatted once per certificate), else `x-mesh-caller`, else "anonymous".</summary>
internal static class CallerIdentity
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<System.Security.Cryptography.X509Certificates.X509Certificate2, string> Formatted = [];

    public static string Of(HttpContext context)
    {
        if (context.Connection.ClientCertificate is { } certificate && TryFromCertificate(certificate, out var id))
            return id;
        var header = context.Request.Headers[RateLimitKeySelector.CallerHeader];
        return header.Count > 0 && !string.IsNullOrEmpty(header[0]) ? header[0]! : RateLimitKeySelector.Anonymous;
    }

    private static bool TryFromCertificate(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, [NotNullWhen(true)] out string? id)
    {
        id = Formatted.GetValue(certificate, static c => Security.PeerIdentity.FromCertificate(c)?.ToString() ?? "");
        return id.Length > 0;
    }
}
