using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Identity;

/// <summary>A minimal CA for rotator tests (the real one lives in Mesh.Registry): signs any CSR for a fixed id.</summary>
internal sealed class TestSigner(TimeProvider time, TimeSpan lifetime) : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Set to make the next calls fail.</summary>
    public int FailNext { get; set; }

    public SpiffeId? IssueAs { get; set; }

    public Task<CaSignResponse> SignAsync(string csrPem, SpiffeId requested)
    {
        Interlocked.Increment(ref _calls);
        if (FailNext > 0)
        {
            FailNext--;
            throw new HttpRequestException("registry unavailable");
        }

        var csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=leaf"), csr.PublicKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri((IssueAs ?? requested).ToUri());
        request.CertificateExtensions.Add(san.Build());
        var now = time.GetUtcNow();
        var serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7F;
        using var cert = request.Create(new X500DistinguishedName("CN=test ca"), X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-1), now + lifetime, serial);
        return Task.FromResult(new CaSignResponse(cert.ExportCertificatePem(), [], cert.NotAfter.ToUniversalTime()));
    }

    public void Dispose() => _key.Dispose();
}
