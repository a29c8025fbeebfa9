// Errors the sidecar itself answers with: a status, a plain-text body saying what happened and
// the `x-mesh-error` header naming it, so callers and tests can tell proxy errors from app errors.
// gRPC callers get the same as a gRPC status (GrpcErrors).
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
        response.Headers[Header] = code;
        if (UpstreamVersion.IsGrpc(context.Request))
        {
            GrpcErrors.Write(response, statusCode, "mesh: " + message);
            return Task.CompletedTask;
        }
        response.StatusCode = statusCode;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync("mesh: " + message + "\n");
    }

    /// <summary>The forwarder could not reach the next hop and set 502/504 (no body): name it, in gRPC terms for gRPC.</summary>
    public static void MarkUpstreamUnavailable(HttpContext context)
    {
        var response = context.Response;
        if (response.HasStarted)
            return;
        response.Headers[Header] = UpstreamUnavailable;
        if (UpstreamVersion.IsGrpc(context.Request))
            GrpcErrors.Write(response, response.StatusCode, "mesh: upstream unavailable");
    }
}
