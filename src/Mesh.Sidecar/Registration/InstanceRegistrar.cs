// Registers the local app as an instance of its service, the way a Consul agent or a Linkerd
// destination would see it: only once the app answers its health check, as an ephemeral node
// bound to the sidecar's registry session (so a crashed sidecar's instance disappears after the
// session TTL), re-registered by the session after an expiry, and removed first thing on drain.
using System.Collections.Immutable;
using Mesh.Registry.Client;
using Mesh.Sidecar.Configuration;
using Microsoft.Extensions.Logging;

using Interception = Mesh.Sidecar.Outbound.Interception;
namespace Mesh.Sidecar.Registration;

internal sealed partial class InstanceRegistrar(
    RegistryClient client, SidecarConfig config, int inboundPort, Action<bool> setRegistered, ILogger logger, int? adminPort = null) : IAsyncDisposable
{
    private static readonly TimeSpan HealthRetry = TimeSpan.FromMilliseconds(500);
    private readonly Mesh.Common.Time.RetryLoop _retry = new(new(HealthRetry, TimeSpan.FromSeconds(2)), client.Options.TimeProvider);
    private readonly CancellationTokenSource _stop = new();
    private RegistrySession? _session;
    private ServiceRegistration? _registration;
    private Task _run = Task.CompletedTask;
    private bool _abandoned;

    public ServiceInstance Instance { get; } = new()
    {
        Id = config.Service.InstanceId ?? $"{Environment.MachineName}-{inboundPort}",
        Address = config.Service.Address ?? Environment.GetEnvironmentVariable("MESH_POD_IP") ?? "127.0.0.1",
        Port = inboundPort,
        Weight = config.Service.Weight,
        Version = config.Service.Version,
        Zone = config.Service.Zone,
        Labels = InstanceLabels(config, adminPort),
    };

    private static ImmutableSortedDictionary<string, string> InstanceLabels(SidecarConfig config, int? adminPort)
    {
        var labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, config.Service.Labels);
        // With mTLS, the namespace its certificate names, for people and tools reading the registry.
        // Callers do not trust it: they expect the identity of the service's owner (secure naming).
        if (config.Tls.Enabled && !labels.ContainsKey(Security.SidecarSecurity.NamespaceLabel))
            labels = labels.Add(Security.SidecarSecurity.NamespaceLabel, config.Service.Namespace);
        // Intercepting sidecars route a call to this instance's address and app port to this service.
        if (!labels.ContainsKey(Interception.InterceptedDestinations.AppPortLabel) && Uri.TryCreate(config.App.Address, UriKind.Absolute, out var app))
            labels = labels.Add(Interception.InterceptedDestinations.AppPortLabel, app.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (adminPort is { } port && !labels.ContainsKey(Mesh.Registry.Contracts.InstanceLabels.AdminPort))
            labels = labels.Add(Mesh.Registry.Contracts.InstanceLabels.AdminPort, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return labels;
    }

    /// <summary>Starts registering in the background (waiting for the app's health first).</summary>
    public void Start() => _run = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await WaitForHealthyAppAsync(cancellationToken).ConfigureAwait(false);
            var failures = 0;
            while (_registration is null)
            {
                try
                {
                    if (_session is null)
                    {
                        _session = await RegistrySession.OpenAsync(client, config.Registry.SessionTtl, cancellationToken).ConfigureAwait(false);
                        // Suspended still counts as registered: the registry keeps the instance for the TTL.
                        _session.StateChanged += change => setRegistered(change.State is SessionState.Connected or SessionState.Suspended);
                    }

                    _registration = await ServiceRegistration.RegisterAsync(_session, config.Service.Name, Instance, cancellationToken).ConfigureAwait(false);
                    setRegistered(true);
                    Log.Registered(logger, config.Service.Name, Instance.Id, Instance.Address, Instance.Port);
                }
                catch (RegistryException ex)
                {
                    Log.RegistrationFailed(logger, ex.Message);
                    await Task.Delay(_retry.NextDelay(++failures), client.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task WaitForHealthyAppAsync(CancellationToken cancellationToken)
    {
        if (config.App.HealthPath is not { } path)
            return;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var url = new Uri(config.App.Address + path);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(_retry.NextDelay(1), client.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes the instance from the registry (drain starts here) and closes the session.</summary>
    public async Task DeregisterAsync(CancellationToken cancellationToken)
    {
        if (_abandoned)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        setRegistered(false);
        if (_registration is not null)
            await _registration.DisposeAsync().ConfigureAwait(false);
        _registration = null;
    }

    /// <summary>
    /// Stops without a goodbye, as a crashed sidecar would: the session is no longer kept alive
    /// but not closed, and the instance is not deleted, so the registry removes it when the
    /// session expires (after <c>registry.sessionTtl</c>).
    /// </summary>
    public async Task AbandonAsync()
    {
        if (_abandoned)
            return;
        _abandoned = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        if (_session is not null)
            await _session.AbandonAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_abandoned)
            return;
        await DeregisterAsync(CancellationToken.None).ConfigureAwait(false);
        if (_session is not null)
            await _session.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "registered {Service} instance {Id} at {Address}:{Port}")]
        public static partial void Registered(ILogger logger, string service, string id, string address, int port);

        [LoggerMessage(2, LogLevel.Warning, "registration failed, retrying: {Reason}")]
        public static partial void RegistrationFailed(ILogger logger, string reason);
    }
}
