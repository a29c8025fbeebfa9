using Mesh.Registry.Api.Access;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Limits;

/// <summary>On the open endpoints that do work: a caller without a valid token waits for none of the <see cref="AnonymousGate"/>'s permits; with every permit taken it gets 429.</summary>
internal sealed class AnonymousGateFilter(AnonymousGate gate) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next) =>
        ApiAccessFilter.CallerOf(invocation.HttpContext) is not null ? next(invocation) : GatedAsync(invocation, next);

    private async ValueTask<object?> GatedAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        using var lease = gate.TryEnter();
        if (lease is null)
        {
            context.Response.Headers.RetryAfter = "1";
            await ApiJson.ErrorAsync(context, StatusCodes.Status429TooManyRequests, ApiErrors.TooManyRequests,
                $"at most {gate.Permits} requests without a token are served at once here (--anonymous-concurrency); " +
                "retry later, or send the join token as Authorization: Bearer TOKEN").ConfigureAwait(false);
            return Results.Empty;
        }
        return await next(invocation).ConfigureAwait(false);
    }
}
