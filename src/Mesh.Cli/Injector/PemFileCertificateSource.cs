using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;

namespace Mesh.Cli.Injector;

/// <summary>
/// The serving certificate from PEM files (<c>--cert</c>, <c>--key</c>; e.g. a
/// <c>kubernetes.io/tls</c> Secret mounted as a volume), read again when either file changes, so
/// a renewed Secret is served from the next connection on. The certificate file may carry the
/// intermediates after the leaf.
/// </summary>
internal sealed class PemFileCertificateSource : IWorkloadCertificateSource
{
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly Lock _gate = new();
    private (DateTime Certificate, DateTime Key) _loadedAt;
    private WorkloadCertificate _current;

    /// <summary>Loads the files now; a missing or unreadable file is an <see cref="InvalidDataException"/> naming it.</summary>
    public PemFileCertificateSource(string certificatePath, string keyPath)
    {
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _loadedAt = WriteTimes();
        _current = Load();
    }

    public WorkloadCertificate Current
    {
        get
        {
            lock (_gate)
            {
                var times = WriteTimes();
                if (times != _loadedAt)
                {
                    try
                    {
                        _current = Load();
                        _loadedAt = times;
                    }
                    catch (InvalidDataException)
                    {
                        // Half-written during a Secret update: keep serving the last good pair and try again next time.
                    }
                }
                return _current;
            }
        }
    }

    private (DateTime, DateTime) WriteTimes() => (File.GetLastWriteTimeUtc(_certificatePath), File.GetLastWriteTimeUtc(_keyPath));

    private WorkloadCertificate Load()
    {
        try
        {
            var leaf = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(_certificatePath);
            return WorkloadCertificate.FromCertificate(leaf, all.Skip(1));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"cannot load the certificate {_certificatePath} with key {_keyPath}: {e.Message}", e);
        }
    }
}
