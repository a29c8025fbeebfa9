// Caps retries at a fraction of requests over a sliding window (plus a small floor per second),
// so retries cannot multiply load on a struggling service. One-second buckets in a ring; counts
// are approximate under races, which is fine for a budget.
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Sidecar.Outbound;

internal sealed class RetryBudget
{
    private readonly TimeProvider _timeProvider;
    private readonly ISidecarTelemetry? _telemetry;
    private readonly double _ratio;
    private readonly int _minPerSecond;
    private readonly long[] _bucketSecond;
    private readonly long[] _requests;
    private readonly long[] _retries;

    public RetryBudget(RetryBudgetConfig config, TimeProvider timeProvider, ISidecarTelemetry? telemetry = null)
    {
        _timeProvider = timeProvider;
        _telemetry = telemetry;
        _ratio = config.Ratio;
        _minPerSecond = config.MinRetriesPerSecond;
        var seconds = Math.Max(1, (int)Math.Ceiling(config.Window.TotalSeconds));
        _bucketSecond = new long[seconds];
        _requests = new long[seconds];
        _retries = new long[seconds];
    }

    public void RecordRequest() => Interlocked.Increment(ref _requests[Bucket(CurrentSecond())]);

    /// <summary>Takes one retry for <paramref name="route"/> from the budget and reports the retry or its refusal.</summary>
    public bool TryWithdraw(CompiledRoute route, string service)
    {
        if (TryWithdraw())
        {
            _telemetry?.RetryScheduled(route.Name, service);
            return true;
        }
        _telemetry?.RetryBudgetExhausted(route.Name, service);
        return false;
    }

    /// <summary>Takes one retry from the budget; false when the budget is spent.</summary>
    public bool TryWithdraw()
    {
        var now = CurrentSecond();
        long requests = 0, retries = 0;
        for (var i = 0; i < _bucketSecond.Length; i++)
        {
            if (now - Volatile.Read(ref _bucketSecond[i]) < _bucketSecond.Length)
            {
                requests += Volatile.Read(ref _requests[i]);
                retries += Volatile.Read(ref _retries[i]);
            }
        }
        var allowed = (_minPerSecond * (long)_bucketSecond.Length) + (long)(_ratio * requests);
        if (retries >= allowed)
            return false;
        Interlocked.Increment(ref _retries[Bucket(now)]);
        return true;
    }

    private long CurrentSecond() => _timeProvider.GetTimestamp() / _timeProvider.TimestampFrequency;

    private int Bucket(long second)
    {
        var index = (int)(second % _bucketSecond.Length);
        var seen = Volatile.Read(ref _bucketSecond[index]);
        if (seen != second && Interlocked.CompareExchange(ref _bucketSecond[index], second, seen) == seen)
        {
            Volatile.Write(ref _requests[index], 0);
            Volatile.Write(ref _retries[index], 0);
        }
        return index;
    }
}
