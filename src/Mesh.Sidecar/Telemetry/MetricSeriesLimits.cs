// How many series (label combinations) the OpenTelemetry SDK keeps for each instrument a sidecar
// exports. The SDK preallocates a slot of about 100 bytes per series up to the limit for every
// instrument; at its default of 2,000 for each of the ~40 instruments of a sidecar (the runtime's,
// Kestrel's, ours) that was 6 MB of the native sidecar's heap, almost none of it ever used. So
// each instrument gets room for the series its labels can make:
// - the request duration histograms, whose labels multiply (route × destination service ×
//   version × status class × caller): the configured limit (telemetry.metrics.cardinalityLimit);
// - our other instruments labeled by route, service or policy rule (names from configuration and
//   the registry, one series per name or a few): a quarter of that, at least FixedLabels;
// - everything else, whose labels come from a fixed set or describe the process: FixedLabels.
// A series beyond the limit is not lost: the SDK adds it to one series labeled
// otel_metric_overflow="true", so totals stay right and the overflow shows (docs/observability.md).
using System.Diagnostics.Metrics;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Telemetry;

internal static class MetricSeriesLimits
{
    /// <summary>Series for an instrument with fixed labels (status classes, error kinds, listeners, GC generations).</summary>
    public const int FixedLabels = 100;

    private static readonly HashSet<(string Meter, string Instrument)> RequestHistograms =
    [
        (SidecarMetrics.MeterName, SidecarMetrics.ServerDurationName),
        (SidecarMetrics.MeterName, SidecarMetrics.ClientDurationName),
    ];

    private static readonly HashSet<(string Meter, string Instrument)> NamedFromConfiguration =
    [
        (SidecarMetrics.MeterName, SidecarMetrics.RetriesName),
        (SidecarMetrics.MeterName, SidecarMetrics.BudgetExhaustedName),
        (SidecarMetrics.MeterName, SidecarMetrics.EjectionsName),
        (SidecarMetrics.MeterName, SidecarMetrics.EndpointsName),
        (SidecarMetrics.MeterName, SidecarMetrics.ActiveRequestsName),
        (RateLimitMetrics.MeterName, RateLimitMetrics.RejectedName),
        (RateLimitMetrics.MeterName, RateLimitMetrics.QueuedName),
        (SecurityMetrics.MeterName, SecurityMetrics.DeniedName),
        (SecurityMetrics.MeterName, SecurityMetrics.IdentityMismatchName),
    ];

    /// <summary>The series limit for <paramref name="instrument"/>, given the configured limit of the request histograms.</summary>
    public static int For(Instrument instrument, int requestHistogramLimit)
    {
        var key = (instrument.Meter.Name, instrument.Name);
        if (RequestHistograms.Contains(key))
            return requestHistogramLimit;
        if (NamedFromConfiguration.Contains(key))
            return Math.Max(FixedLabels, requestHistogramLimit / 4);
        return FixedLabels;
    }
}
