namespace Mesh.Demo;

/// <summary>
/// What one hop (a service as its app saw it, or the traffic driver) did: requests by outcome and
/// latencies, for the last second (live view) and the whole run (summary). Thread-safe.
/// </summary>
internal sealed class HopStats(string name)
{
    private const int MaxSamples = 200_000;
    private readonly Lock _lock = new();
    private readonly List<double> _all = [];
    private List<double> _window = [];
    private long _ok, _failed, _rateLimited, _denied;
    private long _windowCount, _windowOk;

    public string Name { get; } = name;

    public long Ok => Interlocked.Read(ref _ok);
    public long Failed => Interlocked.Read(ref _failed);
    public long RateLimited => Interlocked.Read(ref _rateLimited);
    public long Denied => Interlocked.Read(ref _denied);
    public long Total => Ok + Failed + RateLimited + Denied;

    public void Record(int status, TimeSpan elapsed)
    {
        if (status < 400)
            Interlocked.Increment(ref _ok);
        else if (status == 429)
            Interlocked.Increment(ref _rateLimited);
        else if (status == 403)
            Interlocked.Increment(ref _denied);
        else
            Interlocked.Increment(ref _failed);
        lock (_lock)
        {
            _windowCount++;
            if (status < 400)
                _windowOk++;
            _window.Add(elapsed.TotalMilliseconds);
            if (_all.Count < MaxSamples)
                _all.Add(elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Takes the figures of the window since the last call and starts a new one.</summary>
    public WindowFigures TakeWindow(TimeSpan length)
    {
        List<double> samples;
        long count, ok;
        lock (_lock)
        {
            (samples, _window) = (_window, []);
            (count, ok) = (_windowCount, _windowOk);
            (_windowCount, _windowOk) = (0, 0);
        }

        samples.Sort();
        return new WindowFigures(count / length.TotalSeconds, count == 0 ? double.NaN : 100.0 * ok / count,
            Percentile(samples, 0.50), Percentile(samples, 0.99));
    }

    public (double P50, double P99) TotalPercentiles()
    {
        double[] samples;
        lock (_lock)
            samples = [.. _all];
        Array.Sort(samples);
        return (Percentile(samples, 0.50), Percentile(samples, 0.99));
    }

    private static double Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}

internal sealed record WindowFigures(double Rps, double SuccessPercent, double P50Ms, double P99Ms);
