using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Registry.Contracts;

/// <summary>
/// TLS client settings that trust exactly the given roots (a private CA for the registry's client
/// API) instead of the system's. The server's name is still checked against its certificate.
/// </summary>
public static class TlsTrust
{
    public static SslClientAuthenticationOptions ClientOptions(X509Certificate2Collection roots) => new()
    {
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            certificate is X509Certificate2 leaf
            && (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) == 0
            && ChainsTo(leaf, roots),
    };

    /// <summary>Reads every certificate of a PEM file; throws <see cref="ArgumentException"/> naming the file when it has none or is unreadable.</summary>
    public static X509Certificate2Collection ReadPemFile(string path)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"cannot read CA certificates from '{path}': {e.Message}", e);
        }
        if (roots.Count == 0)
            throw new ArgumentException($"'{path}' holds no PEM certificate");
        return roots;
    }

    private static bool ChainsTo(X509Certificate2 leaf, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
