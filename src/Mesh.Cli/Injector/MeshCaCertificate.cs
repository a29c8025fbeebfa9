using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Cli.Injector;

/// <summary>
/// The injector's serving certificate from the mesh CA, as a sidecar gets its own: a join (or
/// admin) token proves who asks, and the certificate is renewed at half its life. It carries the
/// SPIFFE id only (docs/kubernetes.md, "Known gap": the API server wants a DNS name).
/// </summary>
internal static class MeshCaCertificate
{
    /// <summary>A started rotator for <c>spiffe://DOMAIN/ns/NAMESPACE/sa/SERVICE</c>, <paramref name="identity"/> being NAMESPACE/SERVICE.</summary>
    public static async Task<CertificateRotator> StartAsync(string registry, string joinToken, string identity, CancellationToken cancellationToken)
    {
        var parts = identity.Split('/');
        if (parts.Length != 2)
            throw new ArgumentException($"--identity: '{identity}' is not namespace/service");
        var client = new RegistryClient(RegistryClientOptions.Parse(registry) with { Token = joinToken });
        var root = await client.GetCaRootAsync(cancellationToken).ConfigureAwait(false);
        var rotator = CertificateRotator.ForRegistry(client, joinToken, SpiffeId.Create(root.TrustDomain, parts[0], parts[1]));
        await rotator.StartAsync(cancellationToken).ConfigureAwait(false);
        return rotator;
    }
}
