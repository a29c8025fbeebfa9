// A sidecar as `mesh sidecar` runs it: the SidecarHost proxy, fed by the registry (endpoints of
// the services its routes name, route documents under /config/routes) when registry addresses
// are configured, registering its own app as an instance, and deregistering before it drains.
// Without registry addresses it runs on sidecar.yaml alone (static endpoints and routes).
using Mesh.Registry.Client;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Registration;
using Mesh.Sidecar.Security;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Hosting;

public sealed class MeshSidecar : IAsyncDisposable
{
    private readonly SidecarConfig _config;
    private readonly ILoggerFactory _loggerFactory;
    private readonly RegistryClient? _client;
    private readonly SidecarHost _host;
    private InstanceRegistrar? _registrar;
    private readonly RateLimiting.MeshShare _share = new();
    private RateLimiting.RegistryMeshShare? _registryShare;
    private PolicyWatcher? _policies;
    private TrustBundleWatcher? _trust;
    private int _disposed;

    public MeshSidecar(SidecarConfig config, ILoggerFactory? loggerFactory = null, SidecarHostOptions? options = null)
    {
        _config = config;
        _loggerFactory = loggerFactory ?? LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        options ??= new SidecarHostOptions();
        if (config.Registry.Addresses.Count > 0)
        {
            _client = new RegistryClient(RegistryClientOptions.Parse(string.Join(',', config.Registry.Addresses)) with
            {
                Token = RegistryToken(config),
                TrustedRoots = config.Registry.CaFile is { } caFile ? Mesh.Registry.Contracts.TlsTrust.ReadPemFile(caFile) : [],
            });
            var callerOnDraining = options.OnDraining;
            var endpoints = new LayeredEndpointSource(new StaticEndpointSource(config.Endpoints), new RegistryEndpointSource(_client));
            options = options with
            {
                EndpointSource = options.EndpointSource ?? endpoints,
                RouteSource = options.RouteSource ?? new RegistryRouteSource(_client, config.Routes),
                // Mesh-wide rate limits take this instance's share of the service's live weight.
                RateLimitShare = options.RateLimitShare ?? _share,
                RequireRegistration = true,
                OnDraining = async ct =>
                {
                    if (_registrar is not null)
                        await _registrar.DeregisterAsync(ct).ConfigureAwait(false);
                    if (callerOnDraining is not null)
                        await callerOnDraining(ct).ConfigureAwait(false);
                },
            };
        }

        _host = new SidecarHost(config, options);
    }

    /// <summary>registry.token, else $MESH_REGISTRY_TOKEN, else the join token when tls is on, else none.</summary>
    private static string? RegistryToken(SidecarConfig config)
    {
        if (!string.IsNullOrWhiteSpace(config.Registry.Token))
            return config.Registry.Token.Trim();
        if (Environment.GetEnvironmentVariable("MESH_REGISTRY_TOKEN") is { Length: > 0 } fromEnvironment)
            return fromEnvironment.Trim();
        if (!config.Tls.Enabled)
            return null;
        try
        {
            return config.Tls.ResolveJoinToken();
        }
        catch (SidecarStartupException)
        {
            return null; // the identity bootstrap reports the missing join token when it starts
        }
    }

    public SidecarHost Host => _host;

    /// <summary>The instance this sidecar registers (null without a registry).</summary>
    public ServiceInstance? Instance => _registrar?.Instance;

    /// <summary>mTLS state (identity, certificate, policies) when `tls:` is on, after start; null otherwise.</summary>
    public SidecarSecurity? Security => _host.Security;

    /// <summary>When the workload certificate presented now expires; null without mTLS (for telemetry).</summary>
    public DateTimeOffset? CertificateExpiresAt => _host.Security?.CertificateExpiresAt;

    /// <summary>Registry policy documents that were refused at the last change (name → problem).</summary>
    public IReadOnlyDictionary<string, string> PolicyErrors => _policies?.Errors ?? new Dictionary<string, string>();

    /// <summary>
    /// Starts the sidecar. With `tls:` on, first gets the trust bundle and a certificate from the
    /// registry (throws <see cref="SidecarStartupException"/> if the join token is refused), so the
    /// listeners open with mTLS from the first connection.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_config.Tls.Enabled)
        {
            if (_client is null)
                throw new SidecarStartupException("tls needs registry.addresses: the registry is the certificate authority");
            var security = await SidecarIdentityBootstrap.StartAsync(_client, _config, _loggerFactory.CreateLogger("Mesh.Sidecar.Security"), cancellationToken).ConfigureAwait(false);
            _host.Security = security;
            _policies = new PolicyWatcher(_client, security.Authorization, _config.Authorization, _loggerFactory.CreateLogger<PolicyWatcher>());
            _policies.Start();
            if (_client.Options.StreamWatches)
            {
                _trust = new TrustBundleWatcher(_client, security, _loggerFactory.CreateLogger<TrustBundleWatcher>());
                _trust.Start();
            }
        }

        await _host.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_client is not null)
        {
            _registrar = new InstanceRegistrar(_client, _config, _host.InboundUrl.Port, r => _host.MarkRegistered(r),
                _loggerFactory.CreateLogger<InstanceRegistrar>(), _host.AdminUrl.Port);
            _registrar.Start();
            _registryShare = new RateLimiting.RegistryMeshShare(_client, _config.Service.Name, _registrar.Instance.Id, _registrar.Instance.Weight);
            _registryShare.Changed += _share.Set;
        }
    }

    /// <summary>Deregisters, drains for the configured time, then stops.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _host.StopAsync(cancellationToken);

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> fires (Ctrl+C, SIGTERM), then drains and
    /// stops. <paramref name="started"/> is told once the listeners are bound (with their real
    /// ports, when the configuration says port 0).
    /// </summary>
    public static async Task RunAsync(SidecarConfig config, CancellationToken cancellationToken, Action<MeshSidecar>? started = null)
    {
        await using var sidecar = new MeshSidecar(config);
        await sidecar.StartAsync(cancellationToken).ConfigureAwait(false);
        started?.Invoke(sidecar);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await sidecar.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops as a crashed sidecar would (for fault drills such as <c>mesh demo --chaos</c>): the
    /// registry session is abandoned, not closed, and the instance is not deregistered, so it stays
    /// listed until the session expires; the listeners close at once, without draining, so callers
    /// see refused connections meanwhile. Disposing afterwards does nothing more.
    /// </summary>
    public async Task CrashAsync()
    {
        if (_registrar is not null)
            await _registrar.AbandonAsync().ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _host.DisposeAsync().ConfigureAwait(false);
        if (_registryShare is not null)
            await _registryShare.DisposeAsync().ConfigureAwait(false);
        if (_registrar is not null)
            await _registrar.DisposeAsync().ConfigureAwait(false);
        if (_policies is not null)
            await _policies.DisposeAsync().ConfigureAwait(false);
        if (_trust is not null)
            await _trust.DisposeAsync().ConfigureAwait(false);
        if (_host.Security is { } security)
            await security.DisposeAsync().ConfigureAwait(false);
        _client?.Dispose();
    }
}
