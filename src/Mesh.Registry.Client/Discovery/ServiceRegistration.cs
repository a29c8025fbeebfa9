using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Registry.Client.Transport;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// One service instance registered as an ephemeral node owned by a session. It comes back by
/// itself when the session is replaced after an expiry, can change its weight and labels in
/// place, and is deleted when disposed.
/// </summary>
public sealed class ServiceRegistration : IAsyncDisposable
{
    private readonly RegistrySession _session;
    private readonly string _service;
    private readonly IDisposable _reRegistration;
    private ServiceInstance _instance;
    private bool _disposed;

    private ServiceRegistration(RegistrySession session, string service, ServiceInstance instance)
    {
        _session = session;
        _service = service;
        _instance = instance;
        _reRegistration = session.OnNewSession((id, ct) => WriteAsync(id, ct));
    }

    public string Service => _service;

    public ServiceInstance Instance => _instance;

    public string Path => ServicePaths.Instance(_service, _instance.Id);

    /// <summary>Registers <paramref name="instance"/> of <paramref name="service"/> under the session.</summary>
    public static async Task<ServiceRegistration> RegisterAsync(
        RegistrySession session, string service, ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        var registration = new ServiceRegistration(session, service, instance);
        try
        {
            await registration.WriteAsync(session.Id, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            registration._reRegistration.Dispose();
            throw;
        }

        return registration;
    }

    /// <summary>Changes weight and/or labels of the registered instance in place.</summary>
    public async Task UpdateAsync(int? weight = null, IReadOnlyDictionary<string, string>? labels = null, CancellationToken cancellationToken = default)
    {
        _instance = _instance with
        {
            Weight = weight ?? _instance.Weight,
            Labels = labels is null ? _instance.Labels : labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
        };
        await _session.Client.SetAsync(Path, Serialize(_instance), -1, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the instance node for session <paramref name="sessionId"/>. A node left by an
    /// earlier session of the same instance id (a restart before its TTL ran out) is replaced,
    /// so a restarted instance is discoverable at once.
    /// </summary>
    private async Task WriteAsync(long sessionId, CancellationToken cancellationToken)
    {
        var data = Serialize(_instance);
        var client = _session.Client;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.CreateAsync(Path, data, CreateMode.Ephemeral, sessionId, createParents: true, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NodeExists && attempt < 3)
            {
                var existing = await client.TryGetAsync(Path, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (existing is null)
                    continue;
                if (existing.Stat.EphemeralOwner == sessionId)
                {
                    if (!existing.Data.AsSpan().SequenceEqual(data))
                        await client.SetAsync(Path, data, existing.Stat.Version, cancellationToken).ConfigureAwait(false);
                    return;
                }

                try
                {
                    await client.DeleteAsync(Path, existing.Stat.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RegistryException inner) when (inner.Code is RegistryErrorCodes.NoNode or RegistryErrorCodes.BadVersion)
                {
                }
            }
        }
    }

    internal static byte[] Serialize(ServiceInstance instance) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new InstanceDocument(instance.Address, instance.Port, instance.Weight, instance.Version, instance.Zone,
                new SortedDictionary<string, string>(instance.Labels, StringComparer.Ordinal)),
            RegistryJson.Default.InstanceDocument);

    /// <summary>Deregisters: deletes the instance node (watchers see it go at once).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        _reRegistration.Dispose();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _session.Client.DeleteAsync(Path, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RegistryException or HttpRequestException or OperationCanceledException)
        {
            // Gone already, or the registry is unreachable: the session's expiry removes it.
        }
    }
}
