using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// An admin's view of secure naming (<c>mesh ctl owner</c>): who owns a service name, claiming a
/// name nobody owns, and transferring one. Writes are conditional on the version read, so two
/// admins (or an admin and a first registration) racing on a name cannot both think they won.
/// </summary>
public static class ServiceOwners
{
    /// <summary>The owner of <paramref name="service"/>, or null while nobody owns it; <see cref="FormatException"/> when its record is invalid.</summary>
    public static async Task<ServiceOwner?> GetServiceOwnerAsync(this RegistryClient client, string service, CancellationToken cancellationToken = default)
    {
        var node = await client.TryGetAsync(ServicePaths.Service(service), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (node is null)
            return null;
        var owner = ServiceOwner.Parse(node.Data, out var error);
        return error is null ? owner : throw new FormatException($"service '{service}': {error}");
    }

    /// <summary>
    /// Gives a name nobody owns to <paramref name="namespace"/> (an admin pre-claiming it before any
    /// registration). Claiming it again for the same namespace is a no-op; a name owned by another
    /// namespace is refused (<c>Conflict</c>): use <see cref="TransferServiceAsync"/>.
    /// </summary>
    public static async Task ClaimServiceAsync(this RegistryClient client, string service, string @namespace, CancellationToken cancellationToken = default)
    {
        var owner = ServiceOwner.Of(@namespace);
        var path = ServicePaths.Service(service);
        for (var attempt = 0; ; attempt++)
        {
            var node = await client.TryGetAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (node is null)
                {
                    await client.CreateAsync(path, owner.ToBytes(), createParents: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return;
                }
                var current = ServiceOwner.Parse(node.Data, out var error);
                if (current == owner)
                    return;
                if (current is not null || error is not null)
                {
                    throw new RegistryException("Conflict", current is not null
                        ? $"service '{service}' is owned by namespace '{current.Namespace}'; use `mesh ctl owner transfer {service} {@namespace}` to give it to '{@namespace}'"
                        : $"service '{service}' has an invalid owner record ({error}); use `mesh ctl owner transfer {service} {@namespace}` to replace it");
                }
                await client.SetAsync(path, owner.ToBytes(), node.Stat.Version, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RegistryException e) when (e.Code is RegistryErrorCodes.NodeExists or RegistryErrorCodes.BadVersion or RegistryErrorCodes.NoNode && attempt < 3)
            {
                // Someone else wrote the record meanwhile: look again.
            }
        }
    }

    /// <summary>Gives <paramref name="service"/> to <paramref name="namespace"/>, whoever owned it; returns the previous owner (null: none).</summary>
    public static async Task<ServiceOwner?> TransferServiceAsync(this RegistryClient client, string service, string @namespace, CancellationToken cancellationToken = default)
    {
        var owner = ServiceOwner.Of(@namespace);
        var path = ServicePaths.Service(service);
        for (var attempt = 0; ; attempt++)
        {
            var node = await client.TryGetAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (node is null)
                {
                    await client.CreateAsync(path, owner.ToBytes(), createParents: true, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return null;
                }
                // Conditional on the version read: a transfer is a new version, which the guard of
                // every join-token write made on the old owner's behalf then fails on.
                await client.SetAsync(path, owner.ToBytes(), node.Stat.Version, cancellationToken).ConfigureAwait(false);
                return ServiceOwner.Parse(node.Data, out _);
            }
            catch (RegistryException e) when (e.Code is RegistryErrorCodes.NodeExists or RegistryErrorCodes.BadVersion or RegistryErrorCodes.NoNode && attempt < 3)
            {
            }
        }
    }
}
