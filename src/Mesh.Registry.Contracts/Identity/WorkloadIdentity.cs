// The sidecar half of certificate issuance: a fresh ECDSA P-256 key that never leaves the
// process, and the PKCS#10 request that asks the mesh CA to certify it. The CA ignores
// everything in the request but the public key (it writes the SPIFFE id itself), so the
// request carries the id only as a courtesy to humans reading it.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Registry.Contracts;

public static class WorkloadIdentity
{
    /// <summary>A new P-256 key for one certificate; rotate keys with certificates.</summary>
    public static ECDsa CreateKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>A PEM certificate signing request for <paramref name="identity"/>, signed by <paramref name="key"/>.</summary>
    public static string CreateSigningRequestPem(ECDsa key, SpiffeId identity)
    {
        var request = new CertificateRequest(SubjectFor(identity), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(identity.ToUri());
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSigningRequestPem();
    }

    /// <summary>The subject the CA writes into workload certificates (informational; peers check the URI SAN).</summary>
    public static X500DistinguishedName SubjectFor(SpiffeId identity)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("Mesh");
        builder.AddOrganizationalUnitName(identity.Namespace);
        builder.AddCommonName(identity.Service);
        return builder.Build();
    }
}
