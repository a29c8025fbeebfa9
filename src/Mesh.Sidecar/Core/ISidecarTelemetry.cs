// What the request path tells telemetry. Handlers, the outlier detector and the retry decision
// report events here; one listener (SidecarTelemetry) turns them into meters, spans and access
// log lines, so no stage depends on OpenTelemetry or on what is switched on. It speaks in names,
// not in the Outbound stage's types, because it sits below every stage that reports to it.
using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Core;

internal enum RequestDirection
{
    /// <summary>From a remote sidecar to the local app (the sidecar is the app's server).</summary>
    Inbound,

    /// <summary>From the local app to a remote service (the sidecar is the app's client).</summary>
    Outbound,
}

/// <summary>Taken when a request arrives: its start time and its span (null when tracing is off).</summary>
internal readonly record struct RequestScope(RequestDirection Direction, long StartTimestamp, Activity? Activity);

/// <summary>
/// What a finished request reports. Route, service and endpoint are null where the request never
/// got that far; <paramref name="Upstream"/> is the endpoint's address as forwarded to.
/// </summary>
internal readonly record struct RequestRecord(
    RequestScope Scope,
    HttpContext Context,
    string? Route = null,
    string? DestinationService = null,
    MeshEndpoint? Endpoint = null,
    string? Upstream = null,
    int Attempts = 0);

internal interface ISidecarTelemetry
{
    RequestScope RequestStarted(HttpContext context, RequestDirection direction);

    void RequestCompleted(in RequestRecord record);

    /// <summary>Writes the current sidecar span into the forwarded request's traceparent (no-op without one).</summary>
    void InjectTraceContext(HttpRequestMessage proxyRequest);

    void RetryScheduled(string route, string service);

    void RetryBudgetExhausted(string route, string service);

    void EndpointEjected(string service);
}
