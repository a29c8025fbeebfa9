// The registry's certificate-authority endpoints (docs/security.md, "mTLS and identity"). Signing is not a
// replicated write, so it carries no request sequence and may simply be retried.
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Client.Transport;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

public sealed partial class RegistryClient
{
    /// <summary><c>GET /v1/ca/root</c>: the mesh trust bundle (public roots only) and trust domain.</summary>
    public Task<CaRootResponse> GetCaRootAsync(CancellationToken cancellationToken = default) =>
        _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, "v1/ca/root"), RegistryJson.Default.CaRootResponse, false, cancellationToken);

    /// <summary>
    /// <c>POST /v1/ca/sign</c>: a workload certificate for the CSR, if the join token allows the
    /// namespace and service. A refused token is a <see cref="RegistryException"/> (403).
    /// </summary>
    public Task<CaSignResponse> SignCertificateAsync(CaSignRequest request, CancellationToken cancellationToken = default) =>
        _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "v1/ca/sign") { Content = RegistryTransport.JsonContent(request, RegistryJson.Default.CaSignRequest) },
            RegistryJson.Default.CaSignResponse, false, cancellationToken);

    /// <summary>
    /// <c>POST /v1/ca/revoke</c>: revokes a join token for good (no new certificate, no API access
    /// with it), even on nodes still started with it. Needs an admin token when the registry
    /// requires tokens. An unknown token is a <see cref="RegistryException"/> (404 NotFound).
    /// </summary>
    public Task<CaRevokeResponse> RevokeJoinTokenAsync(string token, CancellationToken cancellationToken = default) =>
        _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "v1/ca/revoke") { Content = RegistryTransport.JsonContent(new CaRevokeRequest(token), RegistryJson.Default.CaRevokeRequest) },
            RegistryJson.Default.CaRevokeResponse, false, cancellationToken);
}
