// Spans of the sidecar (ActivitySource "Mesh.Sidecar"): one server span per inbound request, one
// client span per outbound request. The parent is the W3C traceparent the request arrived with,
// and the forwarded request carries this span's traceparent, so a trace spans
// app → sidecar → sidecar → app. Without a listener (tracing off) nothing is created and the
// incoming traceparent passes through untouched (the forwarder copies it; the HttpClient
// propagator is disabled in ForwarderClients).
using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Telemetry;

internal static class SidecarTracing
{
    public const string SourceName = "Mesh.Sidecar";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    public static readonly ActivitySource Source = new(SourceName, typeof(SidecarTracing).Assembly.GetName().Version?.ToString());

    public static Activity? Start(HttpContext context, RequestDirection direction)
    {
        if (!Source.HasListeners())
            return null;
        var kind = direction == RequestDirection.Inbound ? ActivityKind.Server : ActivityKind.Client;
        var name = direction == RequestDirection.Inbound ? "inbound" : "outbound";
        // ASP.NET Core makes its own request Activity (parented to traceparent) when something
        // listens to it; otherwise read the header here.
        if (Activity.Current is null && TryExtract(context.Request.Headers, out var parent))
            return Source.StartActivity(name, kind, parent);
        return Source.StartActivity(name, kind);
    }

    public static void Inject(HttpRequestMessage proxyRequest)
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
}
