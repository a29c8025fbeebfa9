using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>A mesh CA for tests and the certificates (good and bad) the TLS tests present.</summary>
internal sealed class MeshTestPki : IDisposable
{
    public const string TrustDomain = "mesh.test";

    public MeshTestPki(MeshCertificateAuthority? ca = null)
    {
        Ca = ca ?? MeshCertificateAuthority.CreateRoot(TrustDomain, DateTimeOffset.UtcNow.AddDays(-1));
        Trust = new TrustBundle(TrustDomain, Ca.Roots);
    }

    public MeshCertificateAuthority Ca { get; }

    public TrustBundle Trust { get; }

    public static SpiffeId Id(string service, string ns = "shop") => SpiffeId.Create(TrustDomain, ns, service);

    public WorkloadCertificate Issue(string service, TimeSpan? lifetime = null, DateTimeOffset? now = null, string ns = "shop")
    {
        using var key = WorkloadIdentity.CreateKey();
        var id = Id(service, ns);
        using var cert = Ca.SignWorkloadCertificate(WorkloadIdentity.CreateSigningRequestPem(key, id), id, lifetime ?? TimeSpan.FromHours(1), now ?? DateTimeOffset.UtcNow);
        return WorkloadCertificate.Create(cert, key, Ca.PresentedChain);
    }

    public IWorkloadCertificateSource Source(string service, string ns = "shop") => new StaticCertificateSource(Issue(service, ns: ns));

    /// <summary>The signer a rotator uses in tests: the real CA, no registry in between.</summary>
    public Task<CaSignResponse> SignAsync(string csrPem, SpiffeId id, TimeSpan lifetime)
    {
        using var cert = Ca.SignWorkloadCertificate(csrPem, id, lifetime, DateTimeOffset.UtcNow);
        return Task.FromResult(new CaSignResponse(cert.ExportCertificatePem(), [.. Ca.PresentedChain.Select(c => c.ExportCertificatePem())], cert.NotAfter.ToUniversalTime()));
    }

    /// <summary>Signed by the mesh CA, valid, for client auth — but without any SPIFFE id.</summary>
    public WorkloadCertificate IssueWithoutSpiffeId()
    {
        var material = Ca.ToMaterial();
        using var caKey = ECDsa.Create();
        caKey.ImportPkcs8PrivateKey(material.SigningKey, out _);
        using var key = WorkloadIdentity.CreateKey();
        var request = new CertificateRequest("CN=catalog", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.Create(Ca.SigningCertificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddMinutes(-1), now.AddHours(1), [0x42, 1, 2, 3]);
        return WorkloadCertificate.Create(cert, key);
    }

    public void Dispose() => Ca.Dispose();
}
