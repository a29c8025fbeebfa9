using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.PeerTls;

namespace Mesh.Registry.Tests.PeerTls;

public sealed class PeerCredentialsTests
{
    [Fact]
    public void DeriveAuthorityKey_SameKey_SameCaKeyWithItsPublicKeyComputed()
    {
        var key = ClusterKey.Generate();

        using var first = PeerCredentials.DeriveAuthorityKey(key);
        using var second = PeerCredentials.DeriveAuthorityKey(ClusterKey.Parse(key.ToBase64()));
        using var other = PeerCredentials.DeriveAuthorityKey(ClusterKey.Generate());

        // Imported from the scalar alone: the public point must have been computed from it.
        var parameters = first.ExportParameters(includePrivateParameters: true);
        Assert.Equal(32, parameters.Q.X!.Length);
        Assert.Equal(first.ExportSubjectPublicKeyInfo(), second.ExportSubjectPublicKeyInfo());
        Assert.NotEqual(first.ExportSubjectPublicKeyInfo(), other.ExportSubjectPublicKeyInfo());
        // And it is the key of that scalar: what one signs, the other's public key verifies.
        var data = "peer"u8.ToArray();
        using var verifier = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = second.ExportParameters(false).Q });
        Assert.True(verifier.VerifyData(data, first.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void Check_LeafOfANodeOnTheSameKey_IsAccepted_OnAnotherKey_IsRefusedNamingBothKeys()
    {
        var key = ClusterKey.Generate();
        using var one = PeerCredentials.Create(key, 1, TimeProvider.System);
        using var two = PeerCredentials.Create(key, 2, TimeProvider.System);
        using var stranger = PeerCredentials.Create(ClusterKey.Generate(), 2, TimeProvider.System);

        Assert.Equal(one.Fingerprint, two.Fingerprint);
        Assert.Null(Validate(one, two.Leaf));
        var refusal = Validate(one, stranger.Leaf);
        Assert.NotNull(refusal);
        Assert.Contains($"made with cluster key {stranger.Fingerprint}, this node's key is {one.Fingerprint}", refusal, StringComparison.Ordinal);
        Assert.Equal("it presented no certificate", one.Check(null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    [Fact]
    public void Check_SelfSignedCertificateNamedLikeTheCa_IsRefused()
    {
        using var one = PeerCredentials.Create(ClusterKey.Generate(), 1, TimeProvider.System);
        using var forgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(one.Authority.SubjectName, forgerKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var forged = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.NotNull(Validate(one, forged));
    }

    /// <summary>What the TLS handshake does with a presented certificate: a chain under the node's policy, then <see cref="PeerCredentials.Check"/>.</summary>
    private static string? Validate(PeerCredentials local, X509Certificate2 presented)
    {
        using var chain = new X509Chain { ChainPolicy = local.ChainPolicy() };
        var built = chain.Build(X509CertificateLoader.LoadCertificate(presented.RawData));
        return local.Check(presented, chain, built ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
    }
}
