// The mesh CA that lives inside the registry cluster: a self-signed root made at bootstrap (or
// an intermediate under a root the operator supplies), kept as CaMaterial in the replicated
// state so every registry node can sign. It signs workload CSRs into short-lived certificates
// whose only identity is the SPIFFE URI SAN the registry decided on: whatever names the CSR
// asks for are ignored. It is pure: time comes in as a value, nothing is stored or served here.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.CertificateAuthority;

public sealed class MeshCertificateAuthority : IDisposable
{
    public static readonly TimeSpan RootLifetime = TimeSpan.FromDays(3652);
    public static readonly TimeSpan IntermediateLifetime = TimeSpan.FromDays(365 * 5);
    public static readonly TimeSpan DefaultWorkloadLifetime = TimeSpan.FromHours(24);
    public static readonly TimeSpan MaxWorkloadLifetime = TimeSpan.FromDays(30);
    /// <summary>Backdating of NotBefore, so peers with a slightly slow clock accept a fresh certificate.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(1);

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly AsymmetricAlgorithm _key;
    private readonly X509SignatureGenerator _generator;

    private MeshCertificateAuthority(string trustDomain, AsymmetricAlgorithm key, X509Certificate2 signing, X509Certificate2Collection intermediates, X509Certificate2Collection roots)
    {
        TrustDomain = trustDomain;
        _key = key;
        _generator = key switch
        {
            ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
            RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("the CA key must be ECDSA or RSA"),
        };
        SigningCertificate = signing;
        Intermediates = intermediates;
        Roots = roots;
    }

    public string TrustDomain { get; }

    /// <summary>The certificate that signs workloads (no private key attached).</summary>
    public X509Certificate2 SigningCertificate { get; }

    /// <summary>Certificates between <see cref="SigningCertificate"/> and the root, excluding both.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The trust bundle: the current root first.</summary>
    public X509Certificate2Collection Roots { get; }

    public X509Certificate2 Root => Roots[0];

    /// <summary>Creates a new self-signed root (ECDSA P-256, 10 years) for <paramref name="trustDomain"/>.</summary>
    public static MeshCertificateAuthority CreateRoot(string trustDomain, DateTimeOffset now)
    {
        CheckTrustDomain(trustDomain);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Mesh Root CA {trustDomain}, O=Mesh", key, HashAlgorithmName.SHA256);
        AddCaExtensions(request, pathLength: null);
        using var withKey = request.CreateSelfSigned(now - ClockSkewAllowance, now + RootLifetime);
        var root = X509CertificateLoader.LoadCertificate(withKey.RawData);
        return new MeshCertificateAuthority(trustDomain, key, root, [], [root]);
    }

    /// <summary>
    /// Creates an intermediate CA (ECDSA P-256) under an operator's root, whose key signs only this
    /// once: afterwards the registry holds the intermediate's key, not the root's.
    /// </summary>
    public static MeshCertificateAuthority CreateIntermediate(string trustDomain, X509Certificate2 operatorRootWithKey, DateTimeOffset now)
    {
        CheckTrustDomain(trustDomain);
        if (!operatorRootWithKey.HasPrivateKey)
            throw new ArgumentException("the operator root needs its private key to sign the intermediate", nameof(operatorRootWithKey));
        if (operatorRootWithKey.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            throw new ArgumentException("the operator root is not a CA certificate (basic constraints CA:TRUE missing)", nameof(operatorRootWithKey));
        if (operatorRootWithKey.NotAfter.ToUniversalTime() <= now)
            throw new ArgumentException($"the operator root expired at {operatorRootWithKey.NotAfter:O}", nameof(operatorRootWithKey));

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Mesh Intermediate CA {trustDomain}, O=Mesh", key, HashAlgorithmName.SHA256);
        AddCaExtensions(request, pathLength: 0);
        request.CertificateExtensions.Add(AuthorityKeyIdentifier(operatorRootWithKey));
        var notAfter = Min(now + IntermediateLifetime, operatorRootWithKey.NotAfter.ToUniversalTime());
        var notBefore = Max(now - ClockSkewAllowance, operatorRootWithKey.NotBefore.ToUniversalTime());
        using var signed = request.Create(operatorRootWithKey, notBefore, notAfter, NewSerial());
        var intermediate = X509CertificateLoader.LoadCertificate(signed.RawData);
        var root = X509CertificateLoader.LoadCertificate(operatorRootWithKey.RawData);
        return new MeshCertificateAuthority(trustDomain, key, intermediate, [], [root]);
    }

    /// <summary>Same as the other overload, from PEM text (certificate and PKCS#8/EC/RSA private key).</summary>
    public static MeshCertificateAuthority CreateIntermediate(string trustDomain, string operatorRootPem, string operatorRootKeyPem, DateTimeOffset now)
    {
        using var root = X509Certificate2.CreateFromPem(operatorRootPem, operatorRootKeyPem);
        return CreateIntermediate(trustDomain, root, now);
    }

    /// <summary>Loads a CA from what <see cref="ToMaterial"/> produced (on any registry node).</summary>
    public static MeshCertificateAuthority FromMaterial(CaMaterial material)
    {
        CheckTrustDomain(material.TrustDomain);
        var signing = X509CertificateLoader.LoadCertificate(material.SigningCertificate);
        AsymmetricAlgorithm key = signing.GetKeyAlgorithm() == "1.2.840.10045.2.1" ? ECDsa.Create() : RSA.Create();
        key.ImportPkcs8PrivateKey(material.SigningKey, out _);
        using (var check = key is ECDsa ec ? signing.CopyWithPrivateKey(ec) : signing.CopyWithPrivateKey((RSA)key))
        {
            // CopyWithPrivateKey throws when the key does not belong to the certificate.
        }

        return new MeshCertificateAuthority(
            material.TrustDomain, key, signing,
            [.. material.Intermediates.Select(X509CertificateLoader.LoadCertificate)],
            [.. material.Roots.Select(X509CertificateLoader.LoadCertificate)]);
    }

    /// <summary>The CA's key and certificates, to store in the replicated state (contains the private key).</summary>
    public CaMaterial ToMaterial() => new(
        TrustDomain,
        _key.ExportPkcs8PrivateKey(),
        SigningCertificate.RawData,
        [.. Intermediates.Select(c => c.RawData)],
        [.. Roots.Select(c => c.RawData)]);

    /// <summary>A CA that also trusts <paramref name="root"/> (step 1 of a root rotation, see docs/security.md, "Root rotation").</summary>
    public MeshCertificateAuthority WithAdditionalRoot(X509Certificate2 root)
    {
        var material = ToMaterial();
        return FromMaterial(material with { Roots = [.. material.Roots, root.RawData] });
    }

    /// <summary>The public trust bundle in PEM (what <c>GET /v1/ca/root</c> serves).</summary>
    public string RootPem => string.Concat(Roots.Select(r => r.ExportCertificatePem() + "\n"));

    public CaRootResponse GetRootResponse() => new(RootPem, TrustDomain);

    /// <summary>The chain a workload presents after its leaf: the signing CA if it is not the root, then intermediates.</summary>
    public IReadOnlyList<X509Certificate2> PresentedChain =>
        IsSelfSigned(SigningCertificate) ? [.. Intermediates] : [SigningCertificate, .. Intermediates];

    /// <summary>
    /// Checks the join token, then signs the CSR for <c>spiffe://{TrustDomain}/ns/{namespace}/sa/{service}</c>.
    /// Throws <see cref="CaRequestException"/> (403 for the token, 400 for a bad request).
    /// </summary>
    public CaSignResponse Sign(CaSignRequest request, JoinTokenRegistry tokens, TimeSpan lifetime, DateTimeOffset now)
    {
        if ((SpiffeId.ValidateSegment(request.Namespace, "namespace") ?? SpiffeId.ValidateSegment(request.Service, "service")) is { } error)
            throw CaRequestException.Invalid(error);
        var check = tokens.Check(request.Token, request.Namespace, request.Service);
        if (!check.Allowed)
            throw CaRequestException.Refused(check.Reason);
        if (string.IsNullOrWhiteSpace(request.Csr))
            throw CaRequestException.Invalid("csr is empty");

        using var certificate = SignWorkloadCertificate(request.Csr, SpiffeId.Create(TrustDomain, request.Namespace, request.Service), lifetime, now);
        return new CaSignResponse(
            certificate.ExportCertificatePem(),
            [.. PresentedChain.Select(c => c.ExportCertificatePem())],
            certificate.NotAfter.ToUniversalTime());
    }

    /// <summary>Signs a PEM CSR; see the DER overload.</summary>
    public X509Certificate2 SignWorkloadCertificate(string csrPem, SpiffeId identity, TimeSpan lifetime, DateTimeOffset now)
    {
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw CaRequestException.Invalid($"csr is not a valid signed PKCS#10 request: {ex.Message}");
        }

        return Sign(request, identity, lifetime, now);
    }

    /// <summary>
    /// Signs a DER CSR after checking its signature (proof the requester holds the key). The
    /// certificate names exactly <paramref name="identity"/> (URI SAN), is for server and client
    /// auth, not a CA, and is valid from now − 1 min to now + lifetime (within the CA's validity).
    /// </summary>
    public X509Certificate2 SignWorkloadCertificate(byte[] csrDer, SpiffeId identity, TimeSpan lifetime, DateTimeOffset now)
    {
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequest(csrDer, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw CaRequestException.Invalid($"csr is not a valid signed PKCS#10 request: {ex.Message}");
        }

        return Sign(request, identity, lifetime, now);
    }

    private X509Certificate2 Sign(CertificateRequest csr, SpiffeId identity, TimeSpan lifetime, DateTimeOffset now)
    {
        if (identity.TrustDomain != TrustDomain)
            throw CaRequestException.Invalid($"'{identity}' is not in trust domain '{TrustDomain}'");
        if (lifetime <= TimeSpan.Zero || lifetime > MaxWorkloadLifetime)
            throw new ArgumentOutOfRangeException(nameof(lifetime), $"a workload certificate lives between 1 tick and {MaxWorkloadLifetime.TotalDays} days");
        using (var ec = csr.PublicKey.GetECDsaPublicKey())
        {
            if (ec is null || ec.KeySize != 256)
                throw CaRequestException.Invalid("csr key must be ECDSA P-256");
        }

        // A fresh request from the CSR's public key only: its subject, SANs and other extensions are dropped.
        var request = new CertificateRequest(WorkloadIdentity.SubjectFor(identity), csr.PublicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(identity.ToUri());
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(AuthorityKeyIdentifier(SigningCertificate));

        var notBefore = Max(now - ClockSkewAllowance, SigningCertificate.NotBefore.ToUniversalTime());
        var notAfter = Min(now + lifetime, SigningCertificate.NotAfter.ToUniversalTime());
        if (notAfter <= now)
            throw new InvalidOperationException($"the mesh CA certificate expired at {SigningCertificate.NotAfter:O}");
        return request.Create(SigningCertificate.SubjectName, _generator, notBefore, notAfter, NewSerial());
    }

    private static void AddCaExtensions(CertificateRequest request, int? pathLength)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, pathLength is not null, pathLength ?? 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
    }

    // By key id when the issuer has one; operator roots without a subject key id get issuer+serial.
    private static X509AuthorityKeyIdentifierExtension AuthorityKeyIdentifier(X509Certificate2 issuer)
    {
        var hasKeyId = issuer.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any();
        return X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: hasKeyId, includeIssuerAndSerial: !hasKeyId);
    }

    // 128 random bits, positive (top bit clear) and without a leading zero byte (DER minimal).
    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    private static bool IsSelfSigned(X509Certificate2 certificate) => certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static void CheckTrustDomain(string trustDomain)
    {
        if (SpiffeId.ValidateTrustDomain(trustDomain) is { } error)
            throw new ArgumentException(error, nameof(trustDomain));
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    public void Dispose() => _key.Dispose();
}
