// The CA endpoints (docs/security.md, "mTLS and identity") and the guard that keeps the CA's own state out
// of reach: no node, transaction, watch or recursive delete of the client API may touch /mesh/ca,
// whose material holds the CA's private key. Only /v1/ca/root (public roots) is served.
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    private Task CaAsync(HttpContext context, string path) => path switch
    {
        "/v1/ca/root" => Only(context, "GET", () => CaRootAsync(context)),
        "/v1/ca/sign" => Only(context, "POST", () => CaSignAsync(context)),
        "/v1/ca/revoke" => Only(context, "POST", () => CaRevokeAsync(context)),
        _ => ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, $"no such API path: {path}"),
    };

    private async Task CaRootAsync(HttpContext context)
    {
        var root = CurrentCa().GetRootResponse();
        await WriteCaJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(root, RegistryJson.Default.CaRootResponse)).ConfigureAwait(false);
    }

    private async Task CaSignAsync(HttpContext context)
    {
        CaSignRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, RegistryJson.Default.CaSignRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the body is not a signing request { token, namespace, service, csr }: " + e.Message);
        }

        if (request is null)
            throw ApiException.BadRequest("the body is not a signing request { token, namespace, service, csr }");
        // The join token may come as the bearer (checked before the body was read) instead of in the body.
        if (string.IsNullOrEmpty(request.Token) && ApiAccessFilter.CallerOf(context) is ApiCaller.Workload && BearerOf(context.Request) is { } bearer)
            request = request with { Token = bearer };
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
            await ApiJson.ErrorAsync(context, e.StatusCode, e.Code, e.Message).ConfigureAwait(false);
            return;
        }

        metrics.CaSigned();
        await WriteCaJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(signed, RegistryJson.Default.CaSignResponse)).ConfigureAwait(false);
    }

    private async Task CaRevokeAsync(HttpContext context)
    {
        CaRevokeRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, RegistryJson.Default.CaRevokeRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the body is not a revocation { token }: " + e.Message);
        }
        if (request is not { Token.Length: > 0 })
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

    /// <summary>Refuses (403 Forbidden) a request that would read, write, delete or watch the CA's state.</summary>
    private static void GuardCa(string path, bool subtree)
    {
        if (subtree ? RegistryCertificateAuthority.ContainsCaPath(path) : RegistryCertificateAuthority.IsCaPath(path))
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ApiErrors.Forbidden,
                $"{RegistryCertificateAuthority.CaRoot} holds the certificate authority's state and is not served; use /v1/ca/root for the trust bundle");
        }
    }
}
