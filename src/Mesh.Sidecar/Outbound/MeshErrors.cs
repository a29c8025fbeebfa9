// Errors the sidecar itself answers with: a status, a plain-text body saying what happened and
// the `x-mesh-error` header naming it, so callers and tests can tell proxy errors from app errors.
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Outbound;

internal static class MeshErrors
{
    public const string Header = "x-mesh-error";
    public const string NoRoute = "no-route";
    public const string UnknownService = "unknown-service";
    public const string NoHealthyEndpoints = "no-healthy-endpoints";
    public const string Timeout = "timeout";
    public const string UpstreamUnavailable = "upstream-unavailable";
    public const string Starting = "starting";

    public static Task WriteAsync(HttpContext context, int statusCode, string code, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }
        response.Clear();
        response.StatusCode = statusCode;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers[Header] = code;
        return response.WriteAsync("mesh: " + message + "\n");
    }
}
