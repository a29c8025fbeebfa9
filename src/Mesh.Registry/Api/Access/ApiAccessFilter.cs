using Mesh.Registry.Api.Limits;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// The access policy of docs/registry-api.md in front of every endpoint: with authentication on,
/// a request without a known token is refused (401) and one its token does not allow (403),
/// reading headers only, so a refused caller's body is never read. The caller is kept on the
/// request for the checks that need its scope later (writes under /services, quotas). A token from
/// an address that failed to authenticate too often is not checked: 429 with Retry-After.
/// </summary>
internal sealed class ApiAccessFilter(ApiAuthenticator auth) : IEndpointFilter
{
    private const string CallerKey = "mesh.caller";

    /// <summary>Who sent the request; null when anonymous or when authentication is off (and the endpoint is not gated).</summary>
    public static ApiCaller? CallerOf(HttpContext context) => context.Items[CallerKey] as ApiCaller;

    // Not async: a request let through costs no state machine (every API request passes here).
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        // The anonymous gate lets a caller with a valid token skip it, so it needs to know.
        AuthRefusal? refused = null;
        var caller = auth.Enabled || AnonymousGate.Applies(request.Method, path) ? auth.Authenticate(request, out refused) : null;
        if (refused is not null)
            return TooManyFailuresAsync(context, refused);
        if (auth.Enabled)
        {
            var decision = ApiAccessPolicy.Decide(caller, request.Method, path);
            if (!decision.Allowed)
                return RefuseAsync(context, decision);
        }
        // Kept only when there is one: an absent caller reads as null, and most requests (no
        // authentication) then leave HttpContext.Items unallocated.
        if (caller is not null)
            context.Items[CallerKey] = caller;
        return next(invocation);
    }

    /// <summary>429 before anything else is read: the address failed to authenticate too often, and its token was not checked.</summary>
    private static async ValueTask<object?> TooManyFailuresAsync(HttpContext context, AuthRefusal refused)
    {
        context.Response.Headers.RetryAfter = refused.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await ApiJson.ErrorAsync(context, StatusCodes.Status429TooManyRequests, ApiErrors.TooManyRequests, refused.Reason).ConfigureAwait(false);
        return Results.Empty;
    }

    private static async ValueTask<object?> RefuseAsync(HttpContext context, AccessDecision decision)
    {
        if (decision.Status == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        await ApiJson.ErrorAsync(context, decision.Status,
            decision.Status == StatusCodes.Status401Unauthorized ? ApiErrors.Unauthenticated : ApiErrors.Forbidden, decision.Reason).ConfigureAwait(false);
        return Results.Empty;
    }
}
