namespace Mesh.Common.Time;

/// <summary>
/// How long to wait after the n-th failure in a row: <see cref="Initial"/>, doubling up to
/// <see cref="Max"/>, each delay shortened by up to <see cref="Jitter"/> (a fraction) at random so
/// that sidecars that lost the registry together do not all come back in the same millisecond.
/// </summary>
public sealed record Backoff(TimeSpan Initial, TimeSpan Max, double Jitter = 0.2)
{
    /// <summary>The same delay after every failure (still jittered).</summary>
    public static Backoff Constant(TimeSpan delay, double jitter = 0.2) => new(delay, delay, jitter);

    /// <summary>The delay after <paramref name="failures"/> failures in a row (1 or more); <paramref name="random"/> is in [0, 1).</summary>
    public TimeSpan DelayAfter(int failures, double random)
    {
        var doublings = Math.Clamp(failures - 1, 0, 30);
        var ticks = Math.Min((double)Initial.Ticks * Math.Pow(2, doublings), Max.Ticks);
        return TimeSpan.FromTicks((long)(ticks * (1 - Math.Clamp(Jitter, 0, 1) * random)));
    }
}
