// Refuses a request whose declared Content-Length is over the listener's body limit before
// anything is forwarded. Kestrel itself only refuses such a body once it is read, and by then the
// forwarder has already sent the request head upstream: the app would see a request start and
// break. Bodies without a declared length (chunked) are cut by Kestrel at the limit while they
// stream, which the forwarder answers with 413 (see MeshErrors.TagClientBodyError).
using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Sidecar.Guard;

internal static class RequestBodyLimit
{
    /// <summary>Answers 413 and returns true when the declared body is over the limit.</summary>
    public static bool TryReject(HttpContext context, out Task response)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (limit is { } max && context.Request.ContentLength is { } length && length > max)
        {
            // The unread body stays on the connection, so HTTP/1.1 says it closes.
            response = MeshErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, MeshErrors.RequestTooLarge,
                $"request body of {length} bytes is over the {max}-byte limit", closeConnection: true);
            return true;
        }
        response = Task.CompletedTask;
        return false;
    }
}
