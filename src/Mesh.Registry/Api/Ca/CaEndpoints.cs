using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Mesh.Registry.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Ca;

/// <summary>
/// The CA endpoints (docs/security.md, "mTLS and identity"): the public roots, signing a workload
/// certificate for a join token, and revoking a join token (a write, on the leader).
/// </summary>
internal sealed class CaEndpoints(RegistryCertificateAuthority ca, RegistryMetrics metrics, TimeSpan requestTimeout, AuthFailureLimiter? failures = null)
{
    public void Map(IEndpointRouteBuilder api, LeaderFilter leader, AnonymousGateFilter gate)
    {
        var ca = api.MapGroup("/v1/ca");
        ca.MapGet("/root", CaRootAsync).AddEndpointFilter(gate);
        ca.MapPost("/sign", CaSignAsync).AddEndpointFilter(gate);
        ca.MapPost("/revoke", CaRevokeAsync).AddEndpointFilter(leader);
        ca.MapOthers("/{**rest}", CaAsync);
    }


    private Task CaAsync(HttpContext context) => context.Request.Path.Value switch
    {
        "/v1/ca/root" => ApiRoutes.Only(context, "GET", () => CaRootAsync(context)),
        "/v1/ca/sign" => ApiRoutes.Only(context, "POST", () => CaSignAsync(context)),
        "/v1/ca/revoke" => ApiRoutes.Only(context, "POST", () => CaRevokeAsync(context)),
        _ => ApiRoutes.NotFoundAsync(context),
    };

    private async Task CaRootAsync(HttpContext context)
    {
        var root = CurrentCa().GetRootResponse();
        await WriteCaJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(root, RegistryJson.Default.CaRootResponse)).ConfigureAwait(false);
    }

    private async Task CaSignAsync(HttpContext context)
    {
        var request = await ReadBodyAsync(context, RegistryJson.Default.CaSignRequest, "a signing request { token, namespace, service, csr }").ConfigureAwait(false);
        // The join token may come as the bearer (checked before the body was read) instead of in the body.
        if (string.IsNullOrEmpty(request.Token) && ApiAccessFilter.CallerOf(context) is ApiCaller.Workload && BearerOf(context.Request) is { } bearer)
            request = request with { Token = bearer };
        // A token in the body is a credential like a bearer: an address that failed too often has
        // it refused unchecked, and an unknown one counts against its address.
        var remote = context.Connection.RemoteIpAddress;
        if (ApiAccessFilter.CallerOf(context) is null && failures?.Check(remote) is { } refusal)
        {
            metrics.CaSignRefused();
            context.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApiJson.ErrorAsync(context, StatusCodes.Status429TooManyRequests, ApiErrors.TooManyRequests, refusal.Reason).ConfigureAwait(false);
            return;
        }
        var authority = CurrentCa();
        var (_, tokens) = ca.Current();
        CaSignResponse signed;
        try
        {
            signed = authority.Sign(request, tokens, ca.CertificateLifetime, ca.Time.GetUtcNow());
        }
        catch (CaRequestException e)
        {
            metrics.CaSignRefused();
            if (e.StatusCode == StatusCodes.Status403Forbidden && !string.IsNullOrEmpty(request.Token) && tokens.ScopeOf(request.Token) is null)
                failures?.Failed(remote);
            await ApiJson.ErrorAsync(context, e.StatusCode, e.Code, e.Message).ConfigureAwait(false);
            return;
        }

        metrics.CaSigned();
        await WriteCaJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(signed, RegistryJson.Default.CaSignResponse)).ConfigureAwait(false);
    }

    /// <summary>The body as <paramref name="what"/>; not JSON of that shape (or <c>null</c>) is a 400 naming it.</summary>
    private static async Task<T> ReadBodyAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false)
                ?? throw ApiException.BadRequest($"the body is not {what}");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the body is not {what}: " + e.Message);
        }
    }

    private async Task CaRevokeAsync(HttpContext context)
    {
        var request = await ReadBodyAsync(context, RegistryJson.Default.CaRevokeRequest, "a revocation { token }").ConfigureAwait(false);
        if (request.Token is not { Length: > 0 })
            throw ApiException.BadRequest("the body is not a revocation { token }");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(requestTimeout);
        var revoked = await ca.RevokeAsync(request.Token, deadline.Token).ConfigureAwait(false);
        if (revoked is not { } done)
        {
            await ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, "no join token record or flag holds this token").ConfigureAwait(false);
            return;
        }
        await WriteCaJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(new CaRevokeResponse(done.Removed, done.Index), RegistryJson.Default.CaRevokeResponse)).ConfigureAwait(false);
    }

    private static string? BearerOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private MeshCertificateAuthority CurrentCa() =>
        ca.Current().Ca ?? throw new ApiException(StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
            "the mesh CA is not created yet (the cluster has no leader, or it is creating it); retry");

    private static async Task WriteCaJsonAsync(HttpContext context, byte[] body)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
