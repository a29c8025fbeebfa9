namespace Mesh.Registry.Client.Identity;

/// <summary>
/// Where TLS code gets the certificate to present: read <see cref="Current"/> at every handshake so
/// a rotation takes effect for the next connection without touching the existing ones.
/// </summary>
public interface IWorkloadCertificateSource
{
    WorkloadCertificate Current { get; }
}

/// <summary>A certificate that never changes (tests, development, operator-managed files).</summary>
public sealed class StaticCertificateSource(WorkloadCertificate certificate) : IWorkloadCertificateSource
{
    public WorkloadCertificate Current { get; } = certificate;
}
