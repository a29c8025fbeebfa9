using System.Net;
using System.Net.Sockets;
using Mesh.Common.Time;
using Mesh.Registry.Api;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Consensus;
using Mesh.Registry.Sessions;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Mesh.Registry.Hosting;

/// <summary>
/// One registry node: data directory, Raft consensus, replicated state, watch hub, session expiry
/// and the HTTP client API, composed and started in that order and stopped in reverse. Tests and
/// the <c>mesh registry</c> command both host nodes through this class.
/// </summary>
public sealed partial class RegistryNode : IAsyncDisposable
{
    private readonly RegistryNodeOptions _options;
    private readonly List<Func<ValueTask>> _stack = [];
    private ILoggerFactory? _ownedLoggerFactory;
    private IPEndPoint? _boundClientEndPoint;
    private int _disposed;

    public RegistryNode(RegistryNodeOptions options)
    {
        _options = options;
        Members = options.Members;
    }

    public int Id => _options.Id;

    /// <summary>The client API base URL, e.g. <c>http://127.0.0.1:7001</c> (the port bound, when port 0 was asked for).</summary>
    public Uri ClientUrl => new($"{Scheme}://{_boundClientEndPoint ?? _options.ClientEndPoint}");

    private string Scheme => _options.TlsCertificate is null ? "http" : "https";

    public IReadOnlyList<ClusterMember> Members { get; private set; }

    /// <summary>Where the ZooKeeper port listens (the port bound, when port 0 was asked for); null when it is not served.</summary>
    public IPEndPoint? ZooKeeperEndPoint { get; private set; }

    internal IConsensus Consensus { get; private set; } = null!;

    internal RegistryStore Store { get; private set; } = null!;

    public bool IsLeader => Consensus is { Role: ConsensusRole.Leader or ConsensusRole.Standalone };

    /// <summary>Throws <see cref="StartupException"/> (one-line message) for bad input or environment.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Members = ResolveMembers(_options);
        ValidateCaOptions(_options);
        if (_options.Limits.Validate() is { } limitError)
            throw new StartupException(limitError);
        if (_options.ZooKeeper?.Validate() is { } zkError)
            throw new StartupException(zkError);
        PortCheck.EnsureFree(_options.ClientEndPoint, "clients");
        PortCheck.EnsureFree(_options.PeerListenEndPoint ?? RaftConsensus.ListenDefault(Members.Single(m => m.Id == _options.Id).RaftEndPoint), "peers");
        var loggerFactory = _options.LoggerFactory ?? (_ownedLoggerFactory = DefaultLoggerFactory());
        var logger = loggerFactory.CreateLogger<RegistryNode>();
        try
        {
            var directory = DataDirectory.Open(_options.DataDirectory, _options.Id, Members);
            Push(() => { directory.Dispose(); return ValueTask.CompletedTask; });

            var metrics = new RegistryMetrics(_options.Id);
            Push(() => { metrics.Dispose(); return ValueTask.CompletedTask; });
            Store = new RegistryStore(new WatchHub(_options.WatchHistory), metrics);

            var consensus = new RaftConsensus(new RaftConsensusOptions
            {
                LocalId = _options.Id,
                Members = Members,
                WalDirectory = directory.WalDirectory,
                SnapshotDirectory = directory.SnapshotDirectory,
                SnapshotEvery = _options.SnapshotEvery,
                ListenEndPoint = _options.PeerListenEndPoint,
                AdvertisedClientEndPoint = AdvertisedClient(_options),
                LowerElectionTimeout = _options.LowerElectionTimeout,
                UpperElectionTimeout = _options.UpperElectionTimeout,
                LoggerFactory = loggerFactory,
            }, Store);
            Push(consensus.DisposeAsync);
            Consensus = consensus;
            consensus.LeaderChanged += _ => metrics.LeaderChanged();
            metrics.Bind(consensus, Store);
            var raftEndPoint = _options.PeerListenEndPoint ?? RaftConsensus.ListenDefault(Members.Single(m => m.Id == _options.Id).RaftEndPoint);
            try
            {
                await consensus.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException || e.InnerException is SocketException)
            {
                throw new StartupException($"cannot listen for peers on {raftEndPoint}: {PortMessage(e as SocketException ?? e.InnerException!)}", e);
            }
            catch (Exception e) when (e is DotNext.IO.Log.IntegrityException || e.InnerException is DotNext.IO.Log.IntegrityException)
            {
                // A torn or corrupted write-ahead log (e.g. power lost mid-write). The node cannot
                // trust its own log; it can rejoin empty and re-sync from the leader while a
                // majority of the other nodes hold the data.
                throw new StartupException(
                    $"the write-ahead log in {directory.WalDirectory} is damaged ({(e as DotNext.IO.Log.IntegrityException ?? e.InnerException)!.Message}); " +
                    $"with the other nodes healthy, move {_options.DataDirectory} aside and restart this node empty to re-sync it from the leader", e);
            }

            var writer = new RegistryWriter(consensus, _options.TimeProvider, metrics, _options.RequestTimeout);
            var expiry = new SessionExpiryLoop(consensus, Store, writer, _options.TimeProvider, loggerFactory.CreateLogger<SessionExpiryLoop>());
            expiry.Start();
            Push(expiry.DisposeAsync);

            var ca = new RegistryCertificateAuthority(consensus, Store, writer, _options.TrustDomain, _options.CertificateLifetime,
                _options.JoinTokens, _options.TimeProvider, loggerFactory.CreateLogger<RegistryCertificateAuthority>());
            ca.Start();
            Push(ca.DisposeAsync);

            var addresses = new Api.Forwarding.MemberAddresses(Members, consensus.PublishedClientEndPointAsync, Scheme);
            var peerClients = new Api.Forwarding.PeerClients(_options.TlsTrust);
            Push(() => { peerClients.Dispose(); return ValueTask.CompletedTask; });
            var peers = new Api.Status.PeerStatusClient(addresses, peerClients.Reads);
            // With authentication on, the peers' /v1/status needs a token: every node is started with the same operator tokens.
            var statusToken = _options.ApiTokens.OrderBy(t => t.Role == Api.Access.ApiTokenRole.Reader ? 0 : 1).FirstOrDefault();
            var lagMonitor = new MemberLagMonitor(consensus, peers, statusToken is null ? null : "Bearer " + statusToken.Token, _options.TimeProvider);
            metrics.BindMemberLag(lagMonitor);
            lagMonitor.Start();
            Push(lagMonitor.DisposeAsync);
            var auth = new Api.Access.ApiAuthenticator(new Api.Access.ApiTokens(_options.ApiTokens), () => ca.Current().Tokens);
            var anonymousGate = new Api.Limits.AnonymousGate(_options.Limits.AnonymousConcurrency);
            Push(() => { anonymousGate.Dispose(); return ValueTask.CompletedTask; });
            var app = BuildWebApp(metrics.MeterName, forwarder => new RegistryApi(consensus, Store, writer,
                new Api.Forwarding.LeaderForwarder(forwarder, addresses, peerClients, _options.RequestTimeout), addresses, peers,
                metrics, _options.RequestTimeout, ca, auth, _options.Limits, anonymousGate, loggerFactory.CreateLogger<RegistryApi>(),
                _options.TimeProvider, _options.ClaimServiceNamesOnFirstUse));
            Push(app.DisposeAsync);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                var reason = e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException ? "the address is already in use" : e.Message;
                throw new StartupException($"cannot listen for clients on {_options.ClientEndPoint}: {reason}", e);
            }
            if (_options.ClientEndPoint.Port == 0)
                BindAnyPort(app, addresses);
            // Runs first on dispose: the node leaves the cluster at once, as a crash would, so a
            // stopping leader neither keeps leading behind a closed client port nor expires
            // sessions whose keep-alives can no longer reach it; then its client port closes,
            // cutting long polls after a second instead of waiting out their wait time.
            Push(async () =>
            {
                await expiry.DisposeAsync().ConfigureAwait(false);
                await consensus.DisposeAsync().ConfigureAwait(false);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await app.StopAsync(grace.Token).ConfigureAwait(false);
            });
            // Pushed last, so it closes first: ZooKeeper clients move to another node at once.
            if (_options.ZooKeeper is { } zk)
                ZooKeeperEndPoint = await ZooKeeper.ZooKeeperHosting.StartAsync(zk, consensus, Store, writer, new Api.Access.ApiTokens(_options.ApiTokens), () => ca.Current().Tokens,
                    _options.TimeProvider, loggerFactory, Push, cancellationToken).ConfigureAwait(false);
            Log.Started(logger, _options.Id, ClientUrl, raftEndPoint);
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private WebApplication BuildWebApp(string meterName, Func<Yarp.ReverseProxy.Forwarder.IHttpForwarder, RegistryApi> api)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Mesh.Common.Hosting.EmbeddedHostLifetime>();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Each endpoint sets its own body limit before reading (Api/Limits/BodyLimits.cs); this
            // is the limit of anything that does not.
            kestrel.Limits.MaxRequestBodySize = Api.Limits.BodyLimits.SmallBodyBytes;
            kestrel.Listen(_options.ClientEndPoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (_options.TlsCertificate is { } certificate)
                    listen.UseHttps(certificate);
            });
        });
        builder.Services.AddHttpForwarder();
        // DotNext's own Raft meters (replication, heartbeats, WAL) are process-wide: with several
        // nodes in one process each node's /metrics shows all of them.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(meterName, "DotNext.*").AddPrometheusExporter());
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        api(app.Services.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>()).Map(app);
        return app;
    }

    // A single node asked for port 0 listens where the system put it: that address is the one it
    // names (ClientUrl, the start-up log line, the Mesh-Leader header).
    private void BindAnyPort(WebApplication app, Api.Forwarding.MemberAddresses members)
    {
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
        if (addresses?.FirstOrDefault() is not { } address)
            throw new StartupException($"cannot tell which port the client listener on {_options.ClientEndPoint} was given");
        _boundClientEndPoint = new IPEndPoint(_options.ClientEndPoint.Address, new Uri(address).Port);
        Members = Members.Select(m => m.Id == Id ? m with { ClientEndPoint = _boundClientEndPoint } : m).ToArray();
        members.Rebind(Id, ClientUrl);
    }

    private static IReadOnlyList<ClusterMember> ResolveMembers(RegistryNodeOptions options)
    {
        if (options.Members.Count == 0)
        {
            // Single-node mode still runs Raft (one voter elects itself) so the log, snapshots and
            // recovery are the same code as in a cluster; its peer port is on loopback only.
            return [new ClusterMember(options.Id, new IPEndPoint(IPAddress.Loopback, FreeLoopbackPort()), AdvertisedClient(options))];
        }
        if (options.ClientEndPoint.Port == 0)
            throw new StartupException("--client port 0 (any free port) is only for a single-node registry: the other nodes need a fixed address to forward to");
        if (options.Members.All(m => m.Id != options.Id))
            throw new StartupException($"--peers does not list this node's id {options.Id} (ids: {string.Join(", ", options.Members.Select(m => m.Id))})");
        if (options.Members.Count % 2 == 0)
            throw new StartupException($"--peers lists {options.Members.Count} members; use an odd number (1, 3 or 5): an even count tolerates no more failures than one fewer");
        var self = options.Members.Single(m => m.Id == options.Id);
        return options.Members.Select(m => m == self && m.ClientEndPoint is null ? m with { ClientEndPoint = AdvertisedClient(options) } : m).ToArray();
    }

    /// <summary>The client address to publish: --advertise-client, else --client unless it is a wildcard address.</summary>
    private static IPEndPoint? AdvertisedClient(RegistryNodeOptions options) =>
        options.AdvertisedClientEndPoint
        ?? (options.ClientEndPoint.Address.Equals(IPAddress.Any) || options.ClientEndPoint.Address.Equals(IPAddress.IPv6Any) ? null : options.ClientEndPoint);

    private static void ValidateCaOptions(RegistryNodeOptions options)
    {
        if (Mesh.Registry.Contracts.SpiffeId.ValidateTrustDomain(options.TrustDomain) is { } error)
            throw new StartupException($"--trust-domain: {error}");
        if (options.CertificateLifetime < TimeSpan.FromSeconds(1) || options.CertificateLifetime > MeshCertificateAuthority.MaxWorkloadLifetime)
            throw new StartupException($"--cert-lifetime {Durations.Format(options.CertificateLifetime)} is out of range (1s .. {Durations.Format(MeshCertificateAuthority.MaxWorkloadLifetime)})");
        foreach (var grant in options.JoinTokens)
        {
            if (grant.Token.Length < JoinTokens.MinimumLength)
                throw new StartupException($"{grant}: a join token needs at least {JoinTokens.MinimumLength} characters");
        }
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string PortMessage(Exception e) => e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
        ? "the address is already in use"
        : e.Message;

    private static ILoggerFactory DefaultLoggerFactory() => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("Microsoft", LogLevel.Warning)
        // DotNext logs every failed heartbeat to a dead peer, many times a second.
        .AddFilter("DotNext", LogLevel.Error));

    private void Push(Func<ValueTask> dispose) => _stack.Add(dispose);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            try
            {
                await _stack[i]().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                // Best effort: a half-started node is torn down as far as it got.
            }
        }
        _stack.Clear();
        _ownedLoggerFactory?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Registry node {Id} serving clients on {ClientUrl}, peers on {RaftEndPoint}")]
        public static partial void Started(ILogger logger, int id, Uri clientUrl, IPEndPoint raftEndPoint);
    }
}
