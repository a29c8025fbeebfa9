// The JSON shapes of the CA endpoints (docs/security.md, "mTLS and identity").
namespace Mesh.Registry.Contracts;

/// <summary><c>POST /v1/ca/sign</c> body. <see cref="Csr"/> is a PKCS#10 request in PEM.</summary>
public sealed record CaSignRequest(string Token, string Namespace, string Service, string Csr);

/// <summary>
/// <c>POST /v1/ca/sign</c> answer: the leaf in PEM, the intermediates between it and the root (empty
/// when the mesh CA is the root itself), and when the leaf expires.
/// </summary>
public sealed record CaSignResponse(string Certificate, IReadOnlyList<string> Chain, DateTimeOffset ExpiresAt);

/// <summary>
/// <c>GET /v1/ca/root</c> answer: the trust bundle in PEM (one certificate, or several during a
/// root rotation) and the mesh's trust domain.
/// </summary>
public sealed record CaRootResponse(string Root, string TrustDomain);

/// <summary><c>POST /v1/ca/revoke</c> body: the join token to revoke for good.</summary>
public sealed record CaRevokeRequest(string Token);

/// <summary><c>POST /v1/ca/revoke</c> answer: how many stored records held the token, and the registry index of the revocation.</summary>
public sealed record CaRevokeResponse(int Removed, long Index);
