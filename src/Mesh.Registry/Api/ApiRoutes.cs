using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api;

/// <summary>The contract's answers for a path the API does not know (404) and for a method a path does not serve (405).</summary>
internal static class ApiRoutes
{
    /// <summary>
    /// Maps <paramref name="pattern"/> for every method: it answers what the path's method-specific
    /// endpoints do not, since routing prefers an endpoint that names the request's method over one
    /// that names none (which the analyzer does not know).
    /// </summary>
#pragma warning disable ASP0022
    public static IEndpointConventionBuilder MapOthers(this IEndpointRouteBuilder endpoints, string pattern, RequestDelegate handler) =>
        endpoints.Map(pattern, handler);
#pragma warning restore ASP0022

    public static Task MethodNotAllowed(HttpContext context, string allowed)
    {
        context.Response.Headers.Allow = allowed;
        return ApiJson.ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, ApiErrors.MethodNotAllowed,
            $"{context.Request.Method} is not allowed on {context.Request.Path}; use {allowed}");
    }

    public static Task Only(HttpContext context, string method, Func<Task> handler) =>
        context.Request.Method == method ? handler() : MethodNotAllowed(context, method);

    public static Task NotFoundAsync(HttpContext context) =>
        ApiJson.ErrorAsync(context, StatusCodes.Status404NotFound, ApiErrors.NotFound, $"no such API path: {context.Request.Path}");
}
