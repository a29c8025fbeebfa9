// Request smuggling through conflicting framing: a request with both Transfer-Encoding and
// Content-Length. RFC 9112 §6.1 lets a server either reject it or read it by Transfer-Encoding
// and close the connection; Kestrel does the latter and moves the Content-Length value into an
// `X-Content-Length` header. The sidecar rejects instead (as Envoy does by default): a proxy
// in front of many apps should not forward a request whose framing two parsers could disagree on.
using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Guard;

internal static class AmbiguousFraming
{
    /// <summary>Where Kestrel puts the Content-Length of a request that also has Transfer-Encoding.</summary>
    private const string DisplacedContentLength = "X-Content-Length";

    /// <summary>Answers 400 and returns true when the request carried both framings.</summary>
    public static bool TryReject(HttpContext context, out Task response)
    {
        var headers = context.Request.Headers;
        if (headers.TransferEncoding.Count > 0 && headers.ContainsKey(DisplacedContentLength))
        {
            response = MeshErrors.WriteAsync(context, StatusCodes.Status400BadRequest, MeshErrors.AmbiguousFraming,
                "request has both Content-Length and Transfer-Encoding", closeConnection: true);
            return true;
        }
        response = Task.CompletedTask;
        return false;
    }
}
