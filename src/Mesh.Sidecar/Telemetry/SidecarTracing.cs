// Spans of one sidecar (ActivitySource "Mesh.Sidecar"): one server span per inbound request, one
// client span per outbound request. Each span's parent is the W3C traceparent the request arrived
// with, read from the header: never Activity.Current, which is ASP.NET Core's own request activity
// (never exported) and would leave a hole between hops. A request without a traceparent starts a
// new trace here (the sampler decides, parent-based for incoming). The forwarded request carries
// this span's traceparent, sampled or not, so the next hop and the app continue the same trace.
// With tracing off (no otlpEndpoint) no span is made and traceparent passes through untouched
// (the forwarder copies it; the HttpClient propagator is disabled in ProxyHandlers).
using System.Diagnostics;
using Mesh.Sidecar.Core;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Telemetry;

internal sealed class SidecarTracing : IDisposable
{
    public const string SourceName = "Mesh.Sidecar";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    private static readonly string? Version = typeof(SidecarTracing).Assembly.GetName().Version?.ToString();

    private readonly bool _enabled;

    /// <param name="enabled">Whether this sidecar exports spans; off, it makes none (even if another sidecar in the process listens to the source name).</param>
    public SidecarTracing(bool enabled) => _enabled = enabled;

    /// <summary>
    /// This sidecar's own source. Every sidecar's is named <see cref="SourceName"/>; its own
    /// instance tells its spans apart from those of other sidecars in the same process.
    /// </summary>
    public ActivitySource Source { get; } = new(SourceName, Version);

    public Activity? Start(HttpContext context, RequestDirection direction)
    {
        if (!_enabled || !Source.HasListeners())
            return null;
        var kind = direction == RequestDirection.Inbound ? ActivityKind.Server : ActivityKind.Client;
        var name = direction == RequestDirection.Inbound ? "inbound" : "outbound";
        if (TryExtract(context.Request.Headers, out var parent))
            return Source.StartActivity(name, kind, parent);
        // No caller span: a new trace. StartActivity would take Activity.Current (ASP.NET Core's
        // request activity, with a trace id nobody else sees) as parent, so clear it first.
        var previous = Activity.Current;
        Activity.Current = null;
        var root = Source.StartActivity(name, kind);
        if (root is null)
            Activity.Current = previous;
        return root;
    }

    /// <summary>Writes this sidecar's current span into the forwarded request (its flags say whether it is sampled).</summary>
    public void Inject(HttpRequestMessage proxyRequest)
    {
        var activity = Activity.Current;
        if (activity is null || !ReferenceEquals(activity.Source, Source) || activity.IdFormat != ActivityIdFormat.W3C)
            return;
        var headers = proxyRequest.Headers;
        headers.Remove(TraceParent);
        headers.TryAddWithoutValidation(TraceParent, activity.Id);
        if (activity.TraceStateString is { } state)
        {
            headers.Remove(TraceState);
            headers.TryAddWithoutValidation(TraceState, state);
        }
    }

    private static bool TryExtract(IHeaderDictionary headers, out ActivityContext parent)
    {
        parent = default;
        var traceParent = headers[TraceParent];
        if (traceParent.Count != 1)
            return false;
        var traceState = headers[TraceState];
        return ActivityContext.TryParse(traceParent.ToString(), traceState.Count == 1 ? traceState.ToString() : null, isRemote: true, out parent);
    }

    public void Dispose() => Source.Dispose();
}
