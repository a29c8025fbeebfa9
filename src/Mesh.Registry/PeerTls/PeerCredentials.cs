// The TLS credentials of one node's peer port, all bound to the cluster key. A P-256 "peer CA"
// key is derived from the key (HKDF-SHA256 to a scalar): every node holding the key has the same
// CA, nobody else can have it. Each node makes a leaf certificate of its own at start (its private
// key random and in memory only), signed by that CA. A peer is accepted when its certificate
// chains to exactly this CA, trusted alone (no system store): only a holder of the key can have
// made such a certificate. The CA's name carries a fingerprint of its public key, so a peer on
// another key is named by its key's fingerprint in the log, which is safe to show.
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Registry.PeerTls;

internal sealed class PeerCredentials : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    // The order of P-256: a derived scalar must lie in [1, n-1].
    private static readonly byte[] CurveOrder = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    private static readonly byte[] DerivationSalt = "mesh registry peer transport"u8.ToArray();

    // Fixed dates: the CA is rebuilt identically on every node and at every start. Trust in it
    // ends when the key changes, not at a date.
    private static readonly DateTimeOffset AuthorityNotBefore = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset AuthorityNotAfter = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The prefix of the CA's common name; the rest is <see cref="Fingerprint"/>.</summary>
    private const string AuthorityNamePrefix = "mesh registry peers ";

    private PeerCredentials(X509Certificate2 authority, X509Certificate2 leaf, string fingerprint)
    {
        Authority = authority;
        Leaf = leaf;
        Fingerprint = fingerprint;
        Context = SslStreamCertificateContext.Create(leaf, additionalCertificates: null, offline: true);
    }

    /// <summary>The peer CA (public part only): the one root a peer's certificate may chain to.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>What this node presents, in both directions.</summary>
    public SslStreamCertificateContext Context { get; }

    /// <summary>The first 8 bytes of the SHA-256 of the CA's public key, in hex: names the key in logs without revealing it.</summary>
    public string Fingerprint { get; }

    /// <summary>The CA derived from <paramref name="key"/> and a new leaf certificate for node <paramref name="nodeId"/>.</summary>
    public static PeerCredentials Create(ClusterKey key, int nodeId, TimeProvider time)
    {
        using var authorityKey = DeriveAuthorityKey(key);
        var fingerprint = FingerprintOf(authorityKey);
        var authorityRequest = new CertificateRequest($"CN={AuthorityNamePrefix}{fingerprint}", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
        authorityRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, critical: false));
        using var authorityWithKey = authorityRequest.CreateSelfSigned(AuthorityNotBefore, AuthorityNotAfter);

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest($"CN=mesh registry peer {nodeId}", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], critical: false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authorityWithKey, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        // Backdated a day: a peer whose clock is behind still sees it as valid (time is not checked
        // anyway, see ChainPolicy; this keeps other tools that look at it content).
        var now = time.GetUtcNow();
        using var leaf = leafRequest.Create(authorityWithKey, now.AddDays(-1), now.AddYears(100), RandomNumberGenerator.GetBytes(16));
        return new PeerCredentials(X509CertificateLoader.LoadCertificate(authorityWithKey.RawData), leaf.CopyWithPrivateKey(leafKey), fingerprint);
    }

    /// <summary>
    /// The CA's private key: HKDF-SHA256 of the cluster key to 32 bytes, taken as the P-256 scalar
    /// (derived again with a counter in the info in the ~2^-32 case that it falls outside the
    /// curve's order). The public key is computed from it on import.
    /// </summary>
    internal static ECDsa DeriveAuthorityKey(ClusterKey key)
    {
        var scalar = new byte[32];
        Span<byte> info = stackalloc byte[] { (byte)'c', (byte)'a', (byte)'1', 0 };
        for (byte counter = 0; ; counter++)
        {
            info[^1] = counter;
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Secret, scalar, DerivationSalt, info);
            if (scalar.AsSpan().IndexOfAnyExcept((byte)0) >= 0 && scalar.AsSpan().SequenceCompareTo(CurveOrder) < 0)
                break;
        }
        try
        {
            return ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = scalar });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    private static string FingerprintOf(ECDsa key) =>
        Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()).AsSpan(0, 8));

    /// <summary>
    /// How a peer's chain is built: to this CA alone, no download, no revocation (a key change is
    /// the revocation), and no validity dates (a certificate lives as long as its process; a
    /// node with a wrong clock still belongs to the cluster). A new policy per handshake, as
    /// <see cref="X509ChainPolicy"/> is mutable.
    /// </summary>
    public X509ChainPolicy ChainPolicy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
            VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid,
        };
        policy.CustomTrustStore.Add(Authority);
        return policy;
    }

    /// <summary>
    /// Null when <paramref name="certificate"/> is a peer of this cluster (its chain, built with
    /// <see cref="ChainPolicy"/>, ends at this CA), else why not, in words for the log. Names
    /// are not checked: peers are reached by address, and the key is the identity.
    /// </summary>
    public string? Check(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return "it presented no certificate";
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0
            || chain is null || chain.ChainElements.Count < 2
            || !chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span))
        {
            var issuer = certificate.Issuer;
            var theirs = issuer.StartsWith("CN=" + AuthorityNamePrefix, StringComparison.Ordinal)
                ? $"made with cluster key {issuer[("CN=" + AuthorityNamePrefix).Length..]}"
                : $"issued by '{issuer}'";
            return $"its certificate is not from this cluster's key: {theirs}, this node's key is {Fingerprint} (give every node the same {ClusterKey.Flag})";
        }
        return null;
    }

    public void Dispose()
    {
        Leaf.Dispose();
        Authority.Dispose();
    }
}
