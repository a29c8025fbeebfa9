using Mesh.Registry.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Registry.Api.Limits;

/// <summary>
/// Sets the request's body limit (<see cref="BodyLimits"/>) before anything can read the body, and
/// refuses a larger declared <c>Content-Length</c> at once (413) without reading any of it.
/// </summary>
internal sealed class BodyLimitFilter(RegistryLimits limits) : IEndpointFilter
{
    private const string LimitKey = "mesh.body-limit";

    /// <summary>The limit set on this request, if the filter ran and the request can have a body.</summary>
    public static BodyLimit? LimitOf(HttpContext context) => context.Items[LimitKey] as BodyLimit?;

    // Not async: a request let through costs no state machine.
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        // A request without a body (most reads) has nothing to limit: nothing to set, keep or refuse.
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
            return next(invocation);
        var limit = BodyLimits.For(context.Request.Method, context.Request.Path.Value ?? "/", limits);
        context.Items[LimitKey] = limit;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limit.Bytes;
        if (context.Request.ContentLength > limit.Bytes)
            return RefuseDeclaredAsync(context, limit);
        return next(invocation);
    }

    private static async ValueTask<object?> RefuseDeclaredAsync(HttpContext context, BodyLimit limit)
    {
        await RefuseAsync(context, limit, context.Request.ContentLength).ConfigureAwait(false);
        return Results.Empty;
    }

    /// <summary>413, naming the limit. The connection is closed: the rest of the body is not read.</summary>
    public static Task RefuseAsync(HttpContext context, BodyLimit limit, long? declared)
    {
        // HTTP/2 has no Connection header: Kestrel resets the stream's unread body instead.
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            context.Response.Headers.Connection = "close";
        return ApiJson.ErrorAsync(context, StatusCodes.Status413PayloadTooLarge,
            new ErrorResponse(limit.Code, limit.Message(declared), LimitBytes: limit.Bytes));
    }
}
