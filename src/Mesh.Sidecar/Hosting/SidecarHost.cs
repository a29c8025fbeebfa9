// One sidecar: Kestrel with three listeners (outbound for the local app, inbound for remote
// sidecars, admin), the route table fed by an IRouteSource, the endpoint catalog fed by an
// IEndpointSource, and a graceful drain on stop. This file only composes; each stage lives in
// its feature folder.
using System.Collections.Immutable;
using System.Net;
using Mesh.Sidecar.Admin;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Connections;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Inbound;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.Interception;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Hosting;

public sealed partial class SidecarHost : IAsyncDisposable
{
    private readonly SidecarConfig _config;
    private readonly SidecarHostOptions _options;
    private readonly SidecarState _state;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _compileLock = new();
    private WebApplication? _app;
    // The stages the host calls itself, resolved from the app's services after Build; the
    // container owns them (SidecarHost.Stages.cs).
    private EndpointCatalog? _catalog;
    private RouteCompiler? _compiler;
    private readonly OwnConnections _ownConnections = new();
    private OutboundHandler? _outbound;
    private InboundHandler? _inbound;
    private AdminHandler? _admin;
    private SidecarTelemetry? _telemetry;
    private ConnectionNoise? _connectionNoise;
    /// <summary>The log category of ASP.NET Core's per-request lines, filtered out (see <see cref="StartAsync"/>).</summary>
    internal const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private const string GenericHostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private RouteSnapshot? _lastRoutes;
    private Task _routeWatch = Task.CompletedTask;
    // The bound ports by ListenerKind; Kestrel fills them in at start (port 0 becomes the real port).
    private int _outboundPort = -1, _inboundPort = -1, _adminPort = -1;
    private int _stopped;

    public SidecarHost(SidecarConfig config, SidecarHostOptions? options = null)
    {
        _config = config;
        _options = options ?? new SidecarHostOptions();
        _state = new SidecarState(_options.RequireRegistration);
    }

    /// <summary>Runs a sidecar until <paramref name="cancellationToken"/> fires, then drains and stops.</summary>
    public static async Task RunAsync(SidecarConfig config, CancellationToken cancellationToken, SidecarHostOptions? options = null)
    {
        await using var host = new SidecarHost(config, options);
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public Uri OutboundUrl => Url(_config.Listeners.Outbound, _outboundPort);

    /// <summary>The inbound listener; https:// when <see cref="Security"/> is set.</summary>
    public Uri InboundUrl => Security is null
        ? Url(_config.Listeners.Inbound, _inboundPort)
        : new UriBuilder(Url(_config.Listeners.Inbound, _inboundPort)) { Scheme = "https" }.Uri;

    public Uri AdminUrl => Url(_config.Listeners.Admin, _adminPort);

    public bool IsReady => _state.IsReady;

    /// <summary>mTLS for the inbound listener and outbound hops; null = plaintext. Set before <see cref="StartAsync"/>.</summary>
    public SidecarSecurity? Security { get; set; }

    /// <summary>Tells readiness that the instance is (or no longer is) registered.</summary>
    public void MarkRegistered(bool registered = true) => _state.MarkRegistered(registered);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Mesh.Sidecar", ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Mesh.Common.Hosting.EmbeddedHostLifetime>();
        builder.Logging.ClearProviders();
        if (_options.ConfigureLogging is { } configureLogging)
            configureLogging(builder.Logging);
        else
            builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        // Kestrel's HTTP/2 verdicts on a client (rapid reset and the like) are counted as connection noise, not logged as stack traces.
        builder.Logging.AddProvider(new ConnectionNoise.KestrelHttp2Verdicts(() => _connectionNoise))
            .AddFilter(ConnectionNoise.KestrelHttp2Category, LogLevel.None)
            .AddFilter<ConnectionNoise.KestrelHttp2Verdicts>(ConnectionNoise.KestrelHttp2Category, LogLevel.Warning)
            .AddFilter<ConnectionNoise.KestrelHttp2Verdicts>((category, _) => category == ConnectionNoise.KestrelHttp2Category);
        // ASP.NET Core's per-request "Request starting/finished" lines (Information). While any
        // provider could take them, hosting makes an Activity and a logging scope for every request
        // (about 10% of the bytes a proxied request allocates); the sidecar never logs them.
        builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        // The generic host logs a failed start (a listener's address in use, say) with its stack
        // trace before it rethrows; the exception reaches whoever started the sidecar, and `mesh
        // sidecar` reports it in one line. The sidecar runs no hosted services of its own whose
        // faults this category would otherwise be the only one to report.
        builder.Logging.AddFilter(GenericHostCategory, LogLevel.Critical);
        builder.Services.AddHttpForwarder();
        var tracing = new SidecarTracing(_config.Telemetry.Tracing.Enabled);
        builder.Services.AddSidecarTelemetry(_config, tracing);
        builder.Services.AddSingleton(_options.TimeProvider);
        AddStages(builder.Services, tracing);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        var listeners = new Dictionary<ListenerKind, ListenOptions>();
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, listeners));
        if (SidecarProcessSettings.InlineScheduling)
            builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = true);

        var app = builder.Build();
        _app = app;
        var services = app.Services;
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        var time = _options.TimeProvider;
        var routeSource = _options.RouteSource ?? new StaticRouteSource(_config.Routes);

        // Every meter of this sidecar comes from its host's factory, so several sidecars in one
        // process (tests, the demo) each export only their own numbers.
        if (services.GetService<System.Diagnostics.Metrics.IMeterFactory>() is { } meterFactory)
            Security?.Metrics.UseMeterFactory(meterFactory);
        _catalog = services.GetRequiredService<EndpointCatalog>();
        _compiler = services.GetRequiredService<RouteCompiler>();
        _telemetry = services.GetRequiredService<SidecarTelemetry>();
        _connectionNoise = services.GetRequiredService<ConnectionNoise>();
        var intercepted = services.GetRequiredService<InterceptedDestinations>();
        _outbound = services.GetRequiredService<OutboundHandler>();
        _inbound = services.GetRequiredService<InboundHandler>();
        _admin = services.GetRequiredService<AdminHandler>();
        app.Run(Dispatch);

        _catalog.ServicesChanged += Recompile;
        _catalog.WatchKnownServices();
        // Services behind virtual addresses are watched from the start, so their first intercepted call does not wait for discovery.
        foreach (var service in intercepted.VirtualServices)
            _catalog.GetOrWatch(service);
        var firstRoutes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _routeWatch = Task.Run(() => WatchRoutesAsync(routeSource, firstRoutes, _stopping.Token), CancellationToken.None);
        await Task.WhenAny(firstRoutes.Task, Task.Delay(_options.InitialRoutesTimeout, time, cancellationToken)).ConfigureAwait(false);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        // Kestrel writes the bound endpoint back into ListenOptions (port 0 becomes the real port).
        _outboundPort = listeners[ListenerKind.Outbound].IPEndPoint!.Port;
        _inboundPort = listeners[ListenerKind.Inbound].IPEndPoint!.Port;
        _adminPort = listeners[ListenerKind.Admin].IPEndPoint!.Port;
        Log.Started(_logger, _config.Service.Name, OutboundUrl, InboundUrl, AdminUrl);
    }

    /// <summary>
    /// Drains: readiness turns 503 and <see cref="SidecarHostOptions.OnDraining"/> runs (deregister),
    /// requests are still served for the drain time, then Kestrel stops accepting and waits for the
    /// requests in flight.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1 || _app is null)
            return;
        _state.StartDraining();
        Log.Draining(_logger, _config.DrainTime);
        if (_options.OnDraining is { } onDraining)
        {
            try
            {
                await onDraining(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.DrainHookFailed(_logger, e);
            }
        }
        try
        {
            await Task.Delay(_config.DrainTime, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _routeWatch.ConfigureAwait(false);
        if (_catalog is not null)
            await _catalog.DisposeAsync().ConfigureAwait(false);
        if (_telemetry is not null)
            await _telemetry.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Metrics, spans and access logs of this sidecar; <see cref="SidecarTelemetry.CertificateNotAfter"/> reads <see cref="Security"/>'s current certificate.</summary>
    internal SidecarTelemetry? Telemetry => _telemetry;

    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        // The app's container disposes the stages it built.
        if (_app is not null)
            await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private Task Dispatch(HttpContext context)
    {
        var port = context.Connection.LocalPort;
        if (port == _outboundPort)
            return _outbound!.HandleAsync(context);
        if (port == _inboundPort)
            return _inbound!.HandleAsync(context);
        if (port == _adminPort)
            return _admin!.HandleAsync(context);
        return MeshErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, MeshErrors.Starting, "sidecar is starting");
    }

    private void ConfigureKestrel(KestrelServerOptions kestrel, Dictionary<ListenerKind, ListenOptions> listeners)
    {
        var limits = _config.Limits;
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
        kestrel.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
        kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodySize;
        kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
        kestrel.Limits.MinRequestBodyDataRate = limits.MinRequestBodyBytesPerSecond is { } bytesPerSecond
            ? new MinDataRate(bytesPerSecond, limits.MinRequestBodyDataRateGracePeriod)
            : null;
        kestrel.Limits.Http2.MaxStreamsPerConnection = limits.MaxStreamsPerConnection;
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = Math.Max(kestrel.Limits.Http2.MaxRequestHeaderFieldSize, limits.MaxRequestHeadersTotalSize);
        H2cPriorKnowledge? h2c = null;
        foreach (var kind in ListenerKinds.All)
        {
            var listener = _config.Listeners.Config(kind);
            if (ServesH2cBesideHttp1(kind, listener))
                h2c ??= H2cPriorKnowledge.AddTo(kestrel);
            kestrel.Listen(ToEndPoint(listener), options =>
            {
                var direction = kind.Name();
                var tls = kind == ListenerKind.Inbound && Security is not null;
                options.Use(next => connection => _connectionNoise is { } noise
                    ? noise.OnConnectionAsync(connection, next, direction, tls)
                    : next(connection));
                var interception = kind == ListenerKind.Outbound && _config.Interception.Enabled && OperatingSystem.IsLinux();
                if (!interception)
                    UseFirstByte(options, direction);
                options.Protocols = listener.Protocols switch
                {
                    ListenerProtocols.H2c => HttpProtocols.Http2,
                    ListenerProtocols.Http1 => HttpProtocols.Http1,
                    // Without TLS there is no ALPN, so Kestrel's HTTP layer would speak HTTP/1.1
                    // only anyway, and warn at every start that HTTP/2 is off. Plaintext h2c
                    // reaches such a listener through H2cPriorKnowledge, not that layer.
                    _ => tls ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1,
                };
                if (kind == ListenerKind.Inbound && Security is { } security)
                {
                    options.UseMeshTls(security.Certificates, security.Validator, security.Mode);
                    options.Use(ConnectionNoise.HandshakeDone);
                }
                // Interception first: it decides whether a redirected connection is HTTP at all.
                if (interception)
                {
                    options.Use(new InterceptionMiddleware(_config.Interception, _ownConnections, _config.Upstream.ConnectTimeout, () => _logger).Wrap);
                    // After interception: redirected server-first protocols rightly say nothing first.
                    UseFirstByte(options, direction);
                }
                if (ServesH2cBesideHttp1(kind, listener))
                    options.Use(h2c!.Middleware);
                listeners[kind] = options;
            });
        }
    }

    private void UseFirstByte(ListenOptions options, string direction)
    {
        var timeout = _config.Limits.KeepAliveTimeout;
        options.Use(next => connection => _connectionNoise is { } noise
            ? noise.FirstByteAsync(connection, next, direction, timeout)
            : next(connection));
    }

    private IEnumerable<(string Service, IEnumerable<MeshEndpoint> Endpoints)> KnownEndpoints() =>
        _catalog!.Clusters.Select(c => (c.Service, c.Snapshot.All.Select(e => e.Endpoint)));

    /// <summary>
    /// The outbound and inbound listeners take gRPC's h2c next to HTTP/1.1 when they may see
    /// plaintext HTTP/2 (apps, plaintext sidecars); a strict mTLS listener gets HTTP/2 by ALPN.
    /// </summary>
    private bool ServesH2cBesideHttp1(ListenerKind kind, ListenerConfig listener) =>
        listener.Protocols == ListenerProtocols.Http1AndHttp2
        && (kind == ListenerKind.Outbound || (kind == ListenerKind.Inbound && Security?.Mode != MeshTlsMode.Strict));

    private static IPEndPoint ToEndPoint(ListenerConfig listener) => listener.Address switch
    {
        "localhost" => new IPEndPoint(IPAddress.Loopback, listener.Port),
        "*" => new IPEndPoint(IPAddress.Any, listener.Port),
        _ => new IPEndPoint(IPAddress.Parse(listener.Address), listener.Port),
    };

    private static Uri Url(ListenerConfig listener, int port)
    {
        var host = listener.Address switch
        {
            "0.0.0.0" or "*" or "localhost" => "127.0.0.1",
            "::" => "[::1]",
            var address when address.Contains(':') => $"[{address}]",
            var address => address,
        };
        return new Uri($"http://{host}:{(port < 0 ? listener.Port : port)}/");
    }

    private Task WatchRoutesAsync(IRouteSource source, TaskCompletionSource firstRoutes, CancellationToken cancellationToken) =>
        new Mesh.Common.Time.RetryLoop(Mesh.Common.Time.Backoff.Constant(TimeSpan.FromSeconds(1)), _options.TimeProvider).WatchAsync(
            source.WatchAsync,
            snapshot =>
            {
                Apply(snapshot);
                firstRoutes.TrySetResult();
            },
            (e, _) => Log.RouteWatchFailed(_logger, e), cancellationToken);

    private void Apply(RouteSnapshot snapshot)
    {
        lock (_compileLock)
        {
            var rejections = (snapshot.Rejected ?? ImmutableDictionary<string, string>.Empty).ToImmutableDictionary(StringComparer.Ordinal);
            foreach (var (document, problem) in rejections)
            {
                // Logged once per new problem, not again on every later change while it stays.
                if (!_state.RouteRejections.TryGetValue(document, out var known) || known != problem)
                    Log.RouteDocumentRejected(_logger, document, snapshot.Index, problem);
            }
            try
            {
                _state.SwapRoutes(_compiler!.Compile(snapshot));
                _lastRoutes = snapshot;
            }
            catch (Exception e)
            {
                // A bad route set never replaces a good one.
                Log.RoutesRejected(_logger, snapshot.Index, e);
                rejections = rejections.SetItem(RouteSetRejection, $"route set {snapshot.Index} rejected: {e.Message}");
            }
            _state.RouteRejections = rejections;
        }
    }

    /// <summary>The rejection entry for a route set that parsed but did not compile as a whole.</summary>
    private const string RouteSetRejection = "(route set)";

    private void Recompile()
    {
        lock (_compileLock)
        {
            if (_lastRoutes is { } snapshot)
                Apply(snapshot);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Sidecar for {Service} listening: outbound {Outbound}, inbound {Inbound}, admin {Admin}")]
        public static partial void Started(ILogger logger, string service, Uri outbound, Uri inbound, Uri admin);

        [LoggerMessage(2, LogLevel.Information, "Draining for {DrainTime}")]
        public static partial void Draining(ILogger logger, TimeSpan drainTime);

        [LoggerMessage(3, LogLevel.Warning, "The draining hook failed")]
        public static partial void DrainHookFailed(ILogger logger, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Route watch failed; retrying")]
        public static partial void RouteWatchFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Error, "Route set {Index} rejected; keeping the previous routes")]
        public static partial void RoutesRejected(ILogger logger, long index, Exception exception);

        [LoggerMessage(6, LogLevel.Error, "Route document {Document} rejected at index {Index}; keeping its last good version, if any: {Problem}")]
        public static partial void RouteDocumentRejected(ILogger logger, string document, long index, string problem);
    }
}
