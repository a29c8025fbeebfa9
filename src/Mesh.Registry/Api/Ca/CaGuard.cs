// The guard that keeps the CA's own state out of reach: no node, transaction, watch or recursive
// delete of the client API may touch /mesh/ca, whose material holds the CA's private key. Only
// /v1/ca/root (public roots) is served.
using Mesh.Registry.CertificateAuthority;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Ca;

internal static class CaGuard
{
    /// <summary>Refuses (403 Forbidden) a request that would read, write, delete or watch the CA's state.</summary>
    public static void Check(string path, bool subtree)
    {
        if (subtree ? RegistryCertificateAuthority.ContainsCaPath(path) : RegistryCertificateAuthority.IsCaPath(path))
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ApiErrors.Forbidden,
                $"{RegistryCertificateAuthority.CaRoot} holds the certificate authority's state and is not served; use /v1/ca/root for the trust bundle");
        }
    }
}
