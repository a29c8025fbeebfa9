// Methods the sidecar does not forward, answered here without touching an endpoint. CONNECT asks
// for a tunnel, which YARP's forwarder cannot build (it would fail as a 502 and blame the endpoint);
// HTTP/2 extended CONNECT (WebSockets over h2, RFC 8441) is a normal upgrade and goes through.
// TRACE echoes the request back, headers included, which a proxy that adds identity headers
// must not offer (cross-site tracing), so it is refused as Envoy and most gateways do.
using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Sidecar.Guard;

internal static class UnsupportedMethod
{
    /// <summary>Answers 501 with `x-mesh-error: unsupported-method` and returns true for CONNECT and TRACE.</summary>
    public static bool TryReject(HttpContext context, out Task response)
    {
        var method = context.Request.Method;
        var refused = (HttpMethods.IsConnect(method) && context.Features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true })
            || HttpMethods.IsTrace(method);
        if (refused)
        {
            response = MeshErrors.WriteAsync(context, StatusCodes.Status501NotImplemented, MeshErrors.UnsupportedMethod,
                $"the sidecar does not forward {method} requests", closeConnection: true);
            return true;
        }
        response = Task.CompletedTask;
        return false;
    }
}
