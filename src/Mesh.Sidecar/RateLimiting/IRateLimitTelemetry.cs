// Telemetry of the rate-limiting stage through an interface: the stage reports events, and
// RateLimitMetrics (the default) turns them into counters on the meter "Mesh.Sidecar.RateLimiting"
// for the telemetry exporter to pick up. Core code does not depend on any exporter.
using System.Diagnostics.Metrics;

namespace Mesh.Sidecar.RateLimiting;

internal static class RateLimitReasons
{
    /// <summary>No permit and no queue (or the limiter gave none).</summary>
    public const string Limit = "limit";
    /// <summary>The queue was full.</summary>
    public const string QueueFull = "queue-full";
    /// <summary>The caller went away while its request waited in the queue (no 429 is written).</summary>
    public const string Canceled = "canceled";
}

internal interface IRateLimitTelemetry
{
    /// <param name="direction">"inbound" or "outbound".</param>
    /// <param name="policy">The limit's name: the route, the inbound limit, or "upstream:SERVICE".</param>
    /// <param name="reason">One of <see cref="RateLimitReasons"/>.</param>
    void Rejected(string direction, string policy, string reason);

    /// <summary>A request waits in a limit's queue.</summary>
    void Queued(string direction, string policy);

    /// <summary>The share of mesh-wide limits this sidecar enforces changed (0..1).</summary>
    void ShareChanged(double share);
}

internal sealed class RateLimitMetrics : IRateLimitTelemetry, IDisposable
{
    public const string MeterName = "Mesh.Sidecar.RateLimiting";
    public const string RejectedName = "mesh.sidecar.ratelimit.rejected";
    public const string QueuedName = "mesh.sidecar.ratelimit.queued";

    private readonly Meter _meter;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _queued;
    private double _share = 1;

    public RateLimitMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _rejected = _meter.CreateCounter<long>(RejectedName, "{request}", "Requests rejected by a rate limit (429), by direction, route/policy and reason.");
        _queued = _meter.CreateCounter<long>(QueuedName, "{request}", "Requests that waited in a rate limit queue.");
        _meter.CreateObservableGauge("mesh.sidecar.ratelimit.share", () => Volatile.Read(ref _share), "1", "This sidecar's share of mesh-wide limits.");
    }

    public void Rejected(string direction, string policy, string reason) =>
        _rejected.Add(1, new("direction", direction), new("route", policy), new("reason", reason));

    public void Queued(string direction, string policy) =>
        _queued.Add(1, new KeyValuePair<string, object?>("direction", direction), new KeyValuePair<string, object?>("route", policy));

    public void ShareChanged(double share) => Volatile.Write(ref _share, share);

    public void Dispose() => _meter.Dispose();
}
