using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Identity;

public sealed class WorkloadCertificateTests
{
    [Fact]
    public void TryReadSpiffeId_ReadsTheOneSpiffeUri_IgnoringOtherUris()
    {
        using var cert = SelfSigned("https://example.org/x", "spiffe://mesh.local/ns/shop/sa/catalog");
        Assert.Equal(SpiffeId.Parse("spiffe://mesh.local/ns/shop/sa/catalog"), WorkloadCertificate.TryReadSpiffeId(cert));
    }

    [Theory]
    [InlineData]
    [InlineData("spiffe://mesh.local/ns/shop/sa/catalog", "spiffe://mesh.local/ns/shop/sa/billing")]
    [InlineData("spiffe://mesh.local/not/a/mesh/id")]
    public void TryReadSpiffeId_IsNullWithoutExactlyOneValidId(params string[] uris)
    {
        using var cert = SelfSigned(uris);
        Assert.Null(WorkloadCertificate.TryReadSpiffeId(cert));
    }

    [Fact]
    public void CreateSigningRequest_IsSignedByTheKeyAndNamesTheIdentity()
    {
        using var key = WorkloadIdentity.CreateKey();
        var id = SpiffeId.Create("mesh.local", "shop", "catalog");

        var pem = WorkloadIdentity.CreateSigningRequestPem(key, id);
        var request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256); // verifies the signature

        Assert.Equal(256, key.KeySize);
        Assert.True(key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(request.PublicKey.ExportSubjectPublicKeyInfo()));
        Assert.Contains("CN=catalog", request.SubjectName.Name, StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSigned(params string[] uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        if (uris.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var uri in uris)
                san.AddUri(new Uri(uri));
            request.CertificateExtensions.Add(san.Build());
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }
}
