// The roots a mesh peer must chain to, plus the trust domain its SPIFFE id must be in. During a
// root rotation the bundle holds the old and the new root, so certificates from both verify.
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Identity;

public sealed class TrustBundle
{
    public TrustBundle(string trustDomain, IEnumerable<X509Certificate2> roots)
    {
        if (SpiffeId.ValidateTrustDomain(trustDomain) is { } error)
            throw new ArgumentException(error, nameof(trustDomain));
        TrustDomain = trustDomain;
        Roots = [.. roots];
        if (Roots.Count == 0)
            throw new ArgumentException("a trust bundle needs at least one root", nameof(roots));
    }

    public string TrustDomain { get; }

    public X509Certificate2Collection Roots { get; }

    /// <summary>Every certificate in a PEM text (the <c>root</c> field of <c>GET /v1/ca/root</c>).</summary>
    public static TrustBundle FromPem(string trustDomain, string pem)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(pem);
        return new TrustBundle(trustDomain, roots);
    }

    public static TrustBundle FromResponse(CaRootResponse response) => FromPem(response.TrustDomain, response.Root);

    /// <summary>The bundle as PEM, one certificate after another.</summary>
    public string ToPem() => string.Concat(Roots.Select(r => r.ExportCertificatePem() + "\n"));
}
