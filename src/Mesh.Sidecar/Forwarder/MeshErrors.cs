// Errors the sidecar itself answers with: a status, a plain-text body saying what happened and
// the `x-mesh-error` header naming it, so callers and tests can tell proxy errors from app errors.
// gRPC callers get the same as a gRPC status (GrpcErrors).
using Mesh.Sidecar.Guard;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Forwarder;

internal static class MeshErrors
{
    public const string Header = "x-mesh-error";
    public const string NoRoute = "no-route";
    public const string UnknownService = "unknown-service";
    public const string NoHealthyEndpoints = "no-healthy-endpoints";
    public const string Timeout = "timeout";
    public const string UpstreamUnavailable = "upstream-unavailable";
    public const string Starting = "starting";
    public const string RequestTooLarge = "request-too-large";
    public const string RequestBodyTimeout = "request-body-timeout";
    public const string BadRequestBody = "bad-request-body";
    public const string AmbiguousFraming = "ambiguous-framing";
    public const string InvalidHeader = "invalid-header";
    public const string UnsupportedMethod = "unsupported-method";
    public const string CannotForward = "cannot-forward";
    public const string AppProtocol = "app-protocol";

    /// <summary>
    /// The codes a sidecar answers for the caller's own mistake. A sidecar that receives one of
    /// these (with a 4xx or 501) from the next sidecar does not count it against that endpoint.
    /// </summary>
    public static bool IsClientFault(string code) => code is RequestTooLarge or RequestBodyTimeout or BadRequestBody
        or AmbiguousFraming or InvalidHeader or UnsupportedMethod or CannotForward;

    /// <summary>
    /// Labels a response the forwarder set after the caller's own body failed (over the size
    /// limit, slower than the minimum rate, broken chunking): a client error, not the upstream's.
    /// </summary>
    public static void TagClientBodyError(HttpContext context)
    {
        if (context.Response.HasStarted)
            return;
        context.Response.Headers[Header] = context.Response.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => RequestTooLarge,
            StatusCodes.Status408RequestTimeout => RequestBodyTimeout,
            _ => BadRequestBody,
        };
    }

    public static Task WriteAsync(HttpContext context, int statusCode, string code, string message, bool closeConnection = false)
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
        if (closeConnection && HttpProtocol.IsHttp11(context.Request.Protocol))
            response.Headers.Connection = "close";
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
