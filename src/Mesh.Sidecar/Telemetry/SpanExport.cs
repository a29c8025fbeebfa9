// Sends one sidecar's spans to its OTLP collector. The SDK's own source listener matches sources
// by name, and every sidecar's source is named "Mesh.Sidecar": with several sidecars in one
// process (tests, the demo) each tracer provider would export every sidecar's spans under its own
// service name. So the provider gets the export processor but no source, and this listener feeds
// it with the spans of this sidecar's source instance only, sampled by the configured sampler.
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Mesh.Sidecar.Telemetry;

internal sealed class SpanExport : IDisposable
{
    private readonly Sampler _sampler;
    private readonly ActivityListener _listener;

    /// <param name="processor">Owned by the tracer provider, which flushes it when the host stops.</param>
    public SpanExport(SidecarTracing tracing, Sampler sampler, BaseProcessor<Activity> processor)
    {
        _sampler = sampler;
        Processor = processor;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, tracing.Source),
            Sample = Sample,
            ActivityStopped = activity =>
            {
                if (activity.Recorded)
                    processor.OnEnd(activity);
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public BaseProcessor<Activity> Processor { get; }

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        var result = _sampler.ShouldSample(new SamplingParameters(options.Parent, options.TraceId, options.Name, options.Kind, options.Tags, options.Links));
        // Not sampled still makes a span (not exported) so its traceparent, flags 00, goes on.
        return result.Decision switch
        {
            SamplingDecision.RecordAndSample => ActivitySamplingResult.AllDataAndRecorded,
            SamplingDecision.RecordOnly => ActivitySamplingResult.AllData,
            _ => ActivitySamplingResult.PropagationData,
        };
    }

    public void Dispose() => _listener.Dispose();
}
