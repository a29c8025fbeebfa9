// A route's timeout as a token shared by every request that starts within the same slice of time
// (a hundredth of the timeout): one CancellationTokenSource and one timer per slice, not one per
// request (Polly's timeout strategy rents a source and re-arms its timer for every request). The
// token of a slice fires `timeout` after the slice began, so no request waits longer than the
// route's timeout; one that started late in its slice gets up to one slice (1%) less. A busy route
// therefore holds at most about a hundred live timers, whatever its timeout; a request reads the
// clock once and compares; a new slice is made only by the first request after the last one
// ended, so an idle route holds no timer at all.
namespace Mesh.Sidecar.Outbound;

internal sealed class RouteDeadline
{
    /// <summary>The longest timeout a timer can be set for (uint.MaxValue - 1 ms, about 49.7 days).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly long _sliceTimestampTicks;
    private Slice? _current;

    public RouteDeadline(TimeSpan timeout, TimeProvider time)
    {
        // Refused here, when the route is compiled, rather than by every request's timer.
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, MaxTimeout);
        _timeout = timeout;
        _time = time;
        var slice = TimeSpan.FromTicks(timeout.Ticks / 100);
        _sliceTimestampTicks = Math.Max(1, (long)(slice.TotalSeconds * time.TimestampFrequency));
    }

    /// <summary>The token for a request starting now: cancelled at most the route's timeout from now.</summary>
    public CancellationToken Token
    {
        get
        {
            var now = _time.GetTimestamp();
            var slice = Volatile.Read(ref _current);
            if (slice is null || now - slice.Start >= _sliceTimestampTicks || now < slice.Start)
                slice = Next(slice, now);
            return slice.Source.Token;
        }
    }

    private Slice Next(Slice? seen, long now)
    {
        var next = new Slice(now, new CancellationTokenSource(_timeout, _time));
        // Two requests may both find the slice over: one's slice wins, the other's still serves
        // its own request (it is cancelled on time and collected after).
        Interlocked.CompareExchange(ref _current, next, seen);
        return next;
    }

    // Never disposed: requests of the slice may still hold its token when it fires; a fired
    // source has no timer left and is collected with its last holder.
    private sealed record Slice(long Start, CancellationTokenSource Source);
}
