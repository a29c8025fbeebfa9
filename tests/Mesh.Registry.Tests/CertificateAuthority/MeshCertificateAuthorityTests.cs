using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.CertificateAuthority;

public sealed class MeshCertificateAuthorityTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly SpiffeId Catalog = SpiffeId.Create("mesh.test", "shop", "catalog");

    [Fact]
    public void CreateRoot_IsSelfSignedP256CaForTenYears()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);

        var root = ca.Root;
        Assert.Equal("CN=Mesh Root CA mesh.test, O=Mesh", root.Subject);
        Assert.Equal(root.Subject, root.Issuer);
        Assert.True(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(root.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Equal(256, root.GetECDsaPublicKey()!.KeySize);
        Assert.InRange((root.NotAfter.ToUniversalTime() - Now.UtcDateTime).TotalDays, 3650, 3653);
        Assert.False(root.HasPrivateKey);
        Assert.DoesNotContain("PRIVATE", ca.RootPem, StringComparison.Ordinal);
        Assert.Equal("mesh.test", ca.GetRootResponse().TrustDomain);
    }

    [Fact]
    public void SignWorkloadCertificate_SetsExactlyTheExpectedSpiffeIdAndIgnoresRequestedNames()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var key = WorkloadIdentity.CreateKey();
        // The CSR asks for another service's id and a DNS name: both must be ignored.
        var request = new CertificateRequest("CN=billing", key, HashAlgorithmName.SHA256);
        var asked = new SubjectAlternativeNameBuilder();
        asked.AddUri(new Uri("spiffe://mesh.test/ns/shop/sa/billing"));
        asked.AddDnsName("billing.shop");
        request.CertificateExtensions.Add(asked.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));

        using var cert = ca.SignWorkloadCertificate(request.CreateSigningRequestPem(), Catalog, TimeSpan.FromHours(24), Now);

        Assert.Equal(["spiffe://mesh.test/ns/shop/sa/catalog"], WorkloadCertificate.EnumerateUriNames(cert));
        Assert.Empty(cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.Equal(Catalog, WorkloadCertificate.TryReadSpiffeId(cert));
        Assert.False(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, cert.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var ekus = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList();
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], ekus);
        Assert.Equal(Now.UtcDateTime.AddMinutes(-1), cert.NotBefore.ToUniversalTime());
        Assert.Equal(Now.UtcDateTime.AddHours(24), cert.NotAfter.ToUniversalTime());
        Assert.True(key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(cert.PublicKey.ExportSubjectPublicKeyInfo()));
        Assert.True(ChainsTo(cert, ca.Root, [], Now.AddHours(1)));
    }

    [Fact]
    public void SignWorkloadCertificate_GivesRandomSerials()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, Catalog);

        using var a = ca.SignWorkloadCertificate(csr, Catalog, TimeSpan.FromHours(1), Now);
        using var b = ca.SignWorkloadCertificate(csr, Catalog, TimeSpan.FromHours(1), Now);

        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
        Assert.Equal(16, a.GetSerialNumber().Length);
    }

    [Fact]
    public void SignWorkloadCertificate_RefusesCsrWithBadSignature()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var key = WorkloadIdentity.CreateKey();
        var der = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^3] ^= 0x01; // inside the ECDSA signature

        var ex = Assert.Throws<CaRequestException>(() => ca.SignWorkloadCertificate(der, Catalog, TimeSpan.FromHours(1), Now));
        Assert.Equal(CaRequestException.BadRequest, ex.Code);
    }

    [Fact]
    public void SignWorkloadCertificate_RefusesNonP256Keys()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var rsa = RSA.Create(2048);
        var csr = new CertificateRequest("CN=x", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();

        var ex = Assert.Throws<CaRequestException>(() => ca.SignWorkloadCertificate(csr, Catalog, TimeSpan.FromHours(1), Now));
        Assert.Contains("P-256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignWorkloadCertificate_ClampsLifetimeToTheCaValidity()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var key = WorkloadIdentity.CreateKey();
        var late = ca.Root.NotAfter.ToUniversalTime().AddDays(-1);

        using var cert = ca.SignWorkloadCertificate(WorkloadIdentity.CreateSigningRequestPem(key, Catalog), Catalog, TimeSpan.FromDays(7), late);

        Assert.Equal(ca.Root.NotAfter, cert.NotAfter);
    }

    [Fact]
    public void SignWorkloadCertificate_AcceptsLifetimesOfSeconds()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        using var key = WorkloadIdentity.CreateKey();

        using var cert = ca.SignWorkloadCertificate(WorkloadIdentity.CreateSigningRequestPem(key, Catalog), Catalog, TimeSpan.FromSeconds(5), Now);

        Assert.Equal(Now.UtcDateTime.AddSeconds(5), cert.NotAfter.ToUniversalTime());
    }

    [Fact]
    public void Material_RoundTripsThroughBytes_AndTheLoadedCaSignsForTheSameRoot()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);

        var bytes = ca.ToMaterial().ToBytes();
        using var loaded = MeshCertificateAuthority.FromMaterial(CaMaterial.FromBytes(bytes));
        using var key = WorkloadIdentity.CreateKey();
        using var cert = loaded.SignWorkloadCertificate(WorkloadIdentity.CreateSigningRequestPem(key, Catalog), Catalog, TimeSpan.FromHours(1), Now);

        Assert.Equal(ca.Root.Thumbprint, loaded.Root.Thumbprint);
        Assert.Equal("mesh.test", loaded.TrustDomain);
        Assert.True(ChainsTo(cert, ca.Root, [], Now.AddMinutes(5)));
        Assert.Throws<FormatException>(() => CaMaterial.FromBytes("{\"format\":2}"u8));
    }

    [Fact]
    public void CreateIntermediate_UnderOperatorRoot_SignsCertificatesThatChainThroughIt()
    {
        using var operatorKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var rootRequest = new CertificateRequest("CN=Operator Root", operatorKey, HashAlgorithmName.SHA384);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
        using var operatorRoot = rootRequest.CreateSelfSigned(Now.AddDays(-1), Now.AddYears(20));

        using var ca = MeshCertificateAuthority.CreateIntermediate(
            "mesh.test", operatorRoot.ExportCertificatePem(), operatorKey.ExportPkcs8PrivateKeyPem(), Now);
        using var loaded = MeshCertificateAuthority.FromMaterial(CaMaterial.FromBytes(ca.ToMaterial().ToBytes()));
        using var key = WorkloadIdentity.CreateKey();
        using var cert = loaded.SignWorkloadCertificate(WorkloadIdentity.CreateSigningRequestPem(key, Catalog), Catalog, TimeSpan.FromHours(1), Now);

        Assert.Equal(operatorRoot.Thumbprint, ca.Root.Thumbprint);
        Assert.Equal(ca.SigningCertificate.Thumbprint, Assert.Single(loaded.PresentedChain).Thumbprint);
        Assert.True(ca.SigningCertificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().HasPathLengthConstraint);
        Assert.True(ChainsTo(cert, operatorRoot, [ca.SigningCertificate], Now.AddMinutes(5)));
        Assert.False(ChainsTo(cert, operatorRoot, [], Now.AddMinutes(5)));
        Assert.Throws<ArgumentException>(() => MeshCertificateAuthority.CreateIntermediate(
            "mesh.test", X509CertificateLoader.LoadCertificate(operatorRoot.RawData), Now));
    }

    [Fact]
    public void Sign_WithRightToken_ReturnsPemCertificateForTheRequestedService()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        var token = JoinTokens.Generate();
        var tokens = JoinTokenRegistry.Empty.With(JoinTokens.Hash(token, new JoinTokenScope("shop")));
        using var key = WorkloadIdentity.CreateKey();

        var answer = ca.Sign(new CaSignRequest(token, "shop", "catalog", WorkloadIdentity.CreateSigningRequestPem(key, Catalog)), tokens, TimeSpan.FromSeconds(30), Now);

        var issued = WorkloadCertificate.FromPem(answer.Certificate, answer.Chain, key);
        Assert.Equal(Catalog, issued.Identity);
        Assert.Empty(answer.Chain);
        Assert.Equal(Now.AddSeconds(30), answer.ExpiresAt);
    }

    [Theory]
    [InlineData("a-wrong-token-of-enough-length", "shop", "catalog", "unknown join token")]
    [InlineData(null, "billing", "ledger", "allows namespace 'shop', not service 'billing/ledger'")]
    [InlineData("", "shop", "catalog", "no join token")]
    public void Sign_WithWrongTokenOrScope_IsForbiddenAndIssuesNothing(string? token, string ns, string service, string reason)
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        var good = JoinTokens.Generate();
        var tokens = JoinTokenRegistry.Empty.With(JoinTokens.Hash(good, new JoinTokenScope("shop"), "shop-token"));
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", ns, service));

        var ex = Assert.Throws<CaRequestException>(() => ca.Sign(new CaSignRequest(token ?? good, ns, service, csr), tokens, TimeSpan.FromHours(1), Now));

        Assert.Equal(CaRequestException.Forbidden, ex.Code);
        Assert.Equal(403, ex.StatusCode);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_RejectsInvalidNamespace()
    {
        using var ca = MeshCertificateAuthority.CreateRoot("mesh.test", Now);
        var ex = Assert.Throws<CaRequestException>(() => ca.Sign(new CaSignRequest("t", "../x", "catalog", "csr"), JoinTokenRegistry.Empty, TimeSpan.FromHours(1), Now));
        Assert.Equal(400, ex.StatusCode);
    }

    private static bool ChainsTo(X509Certificate2 leaf, X509Certificate2 root, X509Certificate2[] intermediates, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        return chain.Build(leaf);
    }
}
