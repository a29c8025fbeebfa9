// The settings every SocketsHttpHandler of the sidecar shares: a proxy forwards what it gets, so
// no redirects, cookies, decompression or system proxy.
using System.Net;

namespace Mesh.Sidecar.Forwarder;

internal static class ProxyHandlers
{
    public static SocketsHttpHandler Create(TimeSpan connectTimeout) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = connectTimeout,
        // No propagator: HttpClient then leaves out its DiagnosticsHandler (an Activity and a
        // DiagnosticListener check per request, ~10% of a forwarded request's time in a profile).
        // The sidecar writes traceparent itself, from its own span (see SidecarTracing).
        ActivityHeadersPropagator = null,
    };
}
