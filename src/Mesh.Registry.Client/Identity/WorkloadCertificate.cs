// One issued workload certificate with its private key and intermediates, ready for SslStream.
// Swapped whole on rotation, so a handshake sees either the old or the new one, never a mix.
using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Identity;

public sealed class WorkloadCertificate
{
    private WorkloadCertificate(X509Certificate2 certificate, X509Certificate2Collection chain, SpiffeId? identity)
    {
        Certificate = certificate;
        Chain = chain;
        Identity = identity;
        // offline: the chain is what we were given; do not go looking for issuers on the network.
        Context = SslStreamCertificateContext.Create(certificate, chain, offline: true);
    }

    /// <summary>The leaf, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Intermediates between the leaf and the root (sent in handshakes; the root is not).</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>The SPIFFE id in the leaf, or null if it has none (only test certificates).</summary>
    public SpiffeId? Identity { get; }

    public DateTimeOffset NotBefore => Certificate.NotBefore.ToUniversalTime();

    public DateTimeOffset NotAfter => Certificate.NotAfter.ToUniversalTime();

    /// <summary>The server-side certificate context (leaf + intermediates) for SslStream.</summary>
    public SslStreamCertificateContext Context { get; }

    /// <summary>Pairs an issued certificate with the key its request was made with.</summary>
    public static WorkloadCertificate Create(X509Certificate2 issued, ECDsa key, IEnumerable<X509Certificate2>? chain = null)
    {
        X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use ephemeral keys for TLS; a PKCS#12 round trip gives it a usable one.
            using var ephemeral = withKey;
            withKey = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        }

        return new WorkloadCertificate(withKey, [.. chain ?? []], TryReadSpiffeId(withKey));
    }

    /// <summary>From a CA answer: the leaf and chain in PEM.</summary>
    public static WorkloadCertificate FromPem(string certificatePem, IEnumerable<string> chainPem, ECDsa key)
    {
        using var leaf = X509Certificate2.CreateFromPem(certificatePem);
        var chain = chainPem.Select(p => X509Certificate2.CreateFromPem(p)).ToList();
        return Create(leaf, key, chain);
    }

    /// <summary>A certificate that already has its private key (tests, operator-supplied files).</summary>
    public static WorkloadCertificate FromCertificate(X509Certificate2 certificateWithKey, IEnumerable<X509Certificate2>? chain = null)
    {
        if (!certificateWithKey.HasPrivateKey)
            throw new ArgumentException("the certificate has no private key", nameof(certificateWithKey));
        return new WorkloadCertificate(certificateWithKey, [.. chain ?? []], TryReadSpiffeId(certificateWithKey));
    }

    /// <summary>The SPIFFE id in the certificate's URI SANs, or null when there is none or more than one.</summary>
    public static SpiffeId? TryReadSpiffeId(X509Certificate2 certificate)
    {
        SpiffeId? found = null;
        foreach (var uri in EnumerateUriNames(certificate))
        {
            if (!uri.StartsWith(SpiffeId.Scheme + ":", StringComparison.OrdinalIgnoreCase))
                continue;
            if (found is not null || !SpiffeId.TryParse(uri, out var id))
                return null; // an X509-SVID has exactly one SPIFFE id
            found = id;
        }

        return found;
    }

    /// <summary>
    /// The uniformResourceIdentifier entries of the subject alternative name (RFC 5280 GeneralName
    /// [6]); .NET enumerates only DNS names and IP addresses, so this reads the DER itself.
    /// </summary>
    public static IReadOnlyList<string> EnumerateUriNames(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
                continue;
            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                while (names.HasData)
                {
                    if (names.PeekTag().HasSameClassAndValue(uriTag))
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                    else
                        names.ReadEncodedValue();
                }
            }
            catch (AsnContentException)
            {
                return []; // a malformed SAN names nobody
            }
        }

        return uris;
    }
}
