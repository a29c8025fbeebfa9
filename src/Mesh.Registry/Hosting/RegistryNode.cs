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

    /// <summary>The ZooKeeper port's server, null when it is not served (tests read its counters).</summary>
    internal Mesh.Registry.ZooKeeper.ZooKeeperServer? ZooKeeperServer { get; private set; }

    internal RegistryStore Store { get; private set; } = null!;

    public bool IsLeader => Consensus is { Role: ConsensusRole.Leader or ConsensusRole.Standalone };

    /// <summary>Throws <see cref="StartupException"/> (one-line message) for bad input or environment.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ValidateMembers(_options);
        if (PeerTls.PeerExposure.Check(_options.Members, _options.PeerListener?.EndPoint ?? _options.PeerListenEndPoint, _options.ClusterKey is not null, _options.InsecurePeerTransport) is { } exposure)
            throw new StartupException(exposure);
        ValidateCaOptions(_options);
        if (_options.Limits.Validate() is { } limitError)
            throw new StartupException(limitError);
        if (_options.Reaper.Validate() is { } reaperError)
            throw new StartupException(reaperError);
        if (_options.ZooKeeper?.Validate() is { } zkError)
            throw new StartupException(zkError);
        if (SnapshotTail.Validate(_options.SnapshotKeep) is { } keepError)
            throw new StartupException(keepError);
        var loggerFactory = _options.LoggerFactory ?? (_ownedLoggerFactory = DefaultLoggerFactory());
        var logger = loggerFactory.CreateLogger<RegistryNode>();
        try
        {
            // Both ports are bound (and held) before the data directory is touched: a port taken
            // costs one line of error, not a data directory and a CA created for nothing, and a
            // port asked for as 0 is known from here on (it is the address this node publishes).
            var peerListener = _options.PeerListener ?? Own(BindOrFail(PeerListenEndPoint(_options), "peers"));
            var clientListener = _options.ClientListener ?? Own(BindOrFail(_options.ClientEndPoint, "clients"));
            _boundClientEndPoint = clientListener.EndPoint;
            Members = ResolveMembers(_options, peerListener.EndPoint, AdvertisedClient(_options, clientListener.EndPoint));

            var directory = DataDirectory.Open(_options.DataDirectory, _options.Id, Members);
            Push(() => { directory.Dispose(); return ValueTask.CompletedTask; });

            var metrics = new RegistryMetrics(_options.Id);
            Push(() => { metrics.Dispose(); return ValueTask.CompletedTask; });
            Store = new RegistryStore(new WatchHub(_options.WatchHistory, new WatchFanoutOptions
            {
                BufferRecords = _options.Limits.WatchStreamBufferRecords,
                MaxStreamsPerCaller = _options.Limits.MaxWatchStreamsPerCaller,
                MaxWatchesPerCaller = _options.Limits.MaxWatchesPerCaller,
                ProgressInterval = _options.Limits.WatchProgressInterval,
                TimeProvider = _options.TimeProvider,
                AliasOf = _options.CuratorBasePath == Api.Services.CuratorInstances.DefaultBasePath ? null
                    : path => Api.Services.CuratorInstances.ServicePathOf(_options.CuratorBasePath, path),
            }), metrics);
            Store.Hub.Fanout.ValueOf = Store.ValueAt;
            Store.Hub.Fanout.IsOpenToAnyone = Store.IsOpenToAnyone;

            var peerTls = StartPeerTls(loggerFactory, logger);
            var consensus = new RaftConsensus(new RaftConsensusOptions
            {
                PeerTls = peerTls,
                LocalId = _options.Id,
                Members = Members,
                WalDirectory = directory.WalDirectory,
                SnapshotDirectory = directory.SnapshotDirectory,
                MeshLogDirectory = directory.MeshLogDirectory,
                RaftLog = _options.RaftLog,
                SnapshotEvery = _options.SnapshotEvery,
                SnapshotKeep = _options.SnapshotKeep,
                Listener = peerListener,
                AdvertisedClientEndPoint = Members.Single(m => m.Id == Id).ClientEndPoint,
                LowerElectionTimeout = _options.LowerElectionTimeout,
                UpperElectionTimeout = _options.UpperElectionTimeout,
                LoggerFactory = loggerFactory,
            }, Store);
            Push(consensus.DisposeAsync);
            Consensus = consensus;
            consensus.LeaderChanged += _ => metrics.LeaderChanged();
            metrics.Bind(consensus, Store);
            var raftEndPoint = peerListener.EndPoint;
            try
            {
                await consensus.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException || e.InnerException is SocketException)
            {
                throw new StartupException($"cannot listen for peers on {raftEndPoint}: {PortMessage(e as SocketException ?? e.InnerException!)}", e);
            }
            catch (InvalidDataException e)
            {
                // The registry's own log: written by the other log kind, or damaged below what it had committed.
                throw new StartupException(e.Message, e);
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
            var reaper = new Reaping.NodeReaperLoop(consensus, Store, writer, _options.Reaper, _options.TimeProvider, loggerFactory.CreateLogger<Reaping.NodeReaperLoop>());
            reaper.Start();
            Push(reaper.DisposeAsync);

            var ca = new RegistryCertificateAuthority(consensus, Store, writer, _options.TrustDomain, _options.CertificateLifetime,
                _options.JoinTokens, _options.TimeProvider, loggerFactory.CreateLogger<RegistryCertificateAuthority>());
            ca.Start();
            Push(ca.DisposeAsync);

            var addresses = new Api.Forwarding.MemberAddresses(Members, consensus.PublishedClientEndPointAsync, Scheme);
            var peerClients = new Api.Forwarding.PeerClients(_options.TlsTrust);
            Push(() => { peerClients.Dispose(); return ValueTask.CompletedTask; });
            // Every keep-alive served here (HTTP, ZooKeeper) is renewed in this node's next batch.
            var keepAlives = new Sessions.KeepAliveBatcher(
                new ZooKeeper.Forwarding.ZkLeaderClient(consensus, writer, addresses, peerClients, new ZooKeeper.Forwarding.ZkSessionKey(Store), _options.TimeProvider, _options.RequestTimeout),
                consensus, Store, _options.TimeProvider, loggerFactory.CreateLogger<Sessions.KeepAliveBatcher>());
            keepAlives.Start();
            Push(keepAlives.DisposeAsync);
            var peers = new Api.Status.PeerStatusClient(addresses, peerClients.Reads);
            // With authentication on, the peers' /v1/status needs a token: every node is started with the same operator tokens.
            var statusToken = _options.ApiTokens.OrderBy(t => t.Role == Api.Access.ApiTokenRole.Reader ? 0 : 1).FirstOrDefault();
            var lagMonitor = new MemberLagMonitor(consensus, peers, statusToken is null ? null : "Bearer " + statusToken.Token, _options.TimeProvider);
            metrics.BindMemberLag(lagMonitor);
            lagMonitor.Start();
            Push(lagMonitor.DisposeAsync);
            // One count of failed authentications per node, for the HTTP API and the ZooKeeper port alike.
            var authFailures = new Api.Access.AuthFailureLimiter(_options.Limits, _options.TimeProvider);
            var auth = new Api.Access.ApiAuthenticator(new Api.Access.ApiTokens(_options.ApiTokens), () => ca.Current().Tokens, authFailures);
            var anonymousGate = new Api.Limits.AnonymousGate(_options.Limits.AnonymousConcurrency);
            Push(() => { anonymousGate.Dispose(); return ValueTask.CompletedTask; });
            var app = BuildWebApp(metrics.MeterName, clientListener, forwarder => new RegistryApi(consensus, Store, writer,
                new Api.Forwarding.LeaderForwarder(forwarder, addresses, peerClients, _options.RequestTimeout), addresses, peers,
                metrics, _options.RequestTimeout, ca, auth, _options.Limits, anonymousGate, loggerFactory.CreateLogger<RegistryApi>(),
                _options.TimeProvider, keepAlives, _options.ClaimServiceNamesOnFirstUse, _options.CuratorBasePath),
                // The leader's side of ZooKeeper forwarding, where followers send their sessions'
                // writes; on every node, so a leader started without --zk still takes them.
                web => ZooKeeper.Forwarding.ZkLeaderEndpoints.Map(web, consensus, writer, new ZooKeeper.Forwarding.ZkSessionKey(Store), _options.RequestTimeout));
            Push(app.DisposeAsync);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                var reason = e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException ? "the address is already in use" : e.Message;
                throw new StartupException($"cannot listen for clients on {clientListener.EndPoint}: {reason}", e);
            }
            // Runs first on dispose: the node leaves the cluster at once, as a crash would, so a
            // stopping leader neither keeps leading behind a closed client port nor expires
            // sessions whose keep-alives can no longer reach it; then its client port closes,
            // cutting long polls after a second instead of waiting out their wait time.
            Push(async () =>
            {
                await expiry.DisposeAsync().ConfigureAwait(false);
                await keepAlives.DisposeAsync().ConfigureAwait(false);
                await consensus.DisposeAsync().ConfigureAwait(false);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await app.StopAsync(grace.Token).ConfigureAwait(false);
            });
            // Before the client port closes: streaming watches end with a resume mark, so their readers move on at once.
            Push(() => { Store.Hub.Fanout.Dispose(); return ValueTask.CompletedTask; });
            // Pushed last, so it closes first: ZooKeeper clients move to another node at once.
            if (_options.ZooKeeper is { } zk)
            {
                ZooKeeperServer = await ZooKeeper.ZooKeeperHosting.StartAsync(zk, consensus, Store, writer, new Api.Access.ApiTokens(_options.ApiTokens), () => ca.Current().Tokens, authFailures,
                    _options.Limits, _options.ClaimServiceNamesOnFirstUse, _options.CuratorBasePath, _options.TimeProvider, loggerFactory, metrics, addresses, peerClients, keepAlives, _options.RequestTimeout, Push, cancellationToken).ConfigureAwait(false);
                ZooKeeperEndPoint = ZooKeeperServer.EndPoint;
            }
            Log.Started(logger, _options.Id, ClientUrl, raftEndPoint);
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private WebApplication BuildWebApp(string meterName, BoundListener clientListener, Func<Yarp.ReverseProxy.Forwarder.IHttpForwarder, RegistryApi> api, Action<WebApplication> more)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // Kestrel serves the socket bound at the start instead of binding one itself.
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.CreateBoundListenSocket = _ => clientListener.Take();
            // With the socket engine's completions inline, Kestrel's continuations run there too (RegistryProcessSettings).
            sockets.UnsafePreferInlineScheduling = RegistryProcessSettings.InlineScheduling;
        });
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Mesh.Common.Hosting.EmbeddedHostLifetime>();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Each endpoint sets its own body limit before reading (Api/Limits/BodyLimits.cs); this
            // is the limit of anything that does not.
            kestrel.Limits.MaxRequestBodySize = Api.Limits.BodyLimits.SmallBodyBytes;
            kestrel.Listen(clientListener.EndPoint, listen =>
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
        more(app);
        api(app.Services.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>()).Map(app);
        return app;
    }

    /// <summary>This node's peer credentials from the cluster key, or null without one.</summary>
    private PeerTls.PeerHandshake? StartPeerTls(ILoggerFactory loggerFactory, ILogger logger)
    {
        if (_options.ClusterKey is not { } key)
        {
            if (_options.InsecurePeerTransport)
                Log.PeersInClear(logger, _options.Id);
            return null;
        }
        var handshake = new PeerTls.PeerHandshake(PeerTls.PeerCredentials.Create(key, _options.Id, _options.TimeProvider), _options.Id,
            loggerFactory.CreateLogger<PeerTls.PeerHandshake>(), _options.TimeProvider, _options.PeerHandshakeTimeout, _options.MaxPendingPeerHandshakes);
        Push(() => { handshake.Dispose(); return ValueTask.CompletedTask; });
        Log.PeersOverTls(logger, _options.Id, handshake.Credentials.Fingerprint);
        return handshake;
    }

    private static void ValidateMembers(RegistryNodeOptions options)
    {
        if (options.Members.Count == 0)
            return;
        if (options.Members.All(m => m.Id != options.Id))
            throw new StartupException($"--peers does not list this node's id {options.Id} (ids: {string.Join(", ", options.Members.Select(m => m.Id))})");
        if (options.Members.Count % 2 == 0)
            throw new StartupException($"--peers lists {options.Members.Count} members; use an odd number (1, 3 or 5): an even count tolerates no more failures than one fewer");
    }

    private static IReadOnlyList<ClusterMember> ResolveMembers(RegistryNodeOptions options, IPEndPoint peerListen, IPEndPoint? advertisedClient)
    {
        // Single-node mode still runs Raft (one voter elects itself) so the log, snapshots and
        // recovery are the same code as in a cluster; its peer port is on loopback, where it was bound.
        if (options.Members.Count == 0)
            return [new ClusterMember(options.Id, peerListen, advertisedClient)];
        var self = options.Members.Single(m => m.Id == options.Id);
        return options.Members.Select(m => m == self && m.ClientEndPoint is null ? m with { ClientEndPoint = advertisedClient } : m).ToArray();
    }

    /// <summary>--listen-peer, else this node's --peers address (all interfaces at its port for a host name); a single node listens on loopback at any port.</summary>
    private static IPEndPoint PeerListenEndPoint(RegistryNodeOptions options) =>
        options.PeerListenEndPoint
        ?? (options.Members.Count == 0
            ? new IPEndPoint(IPAddress.Loopback, 0)
            : RaftConsensus.ListenDefault(options.Members.Single(m => m.Id == options.Id).RaftEndPoint));

    private BoundListener Own(BoundListener listener)
    {
        Push(() => { listener.Dispose(); return ValueTask.CompletedTask; });
        return listener;
    }

    private static BoundListener BindOrFail(IPEndPoint endPoint, string purpose)
    {
        try
        {
            return BoundListener.Bind(endPoint);
        }
        catch (SocketException e)
        {
            throw new StartupException($"cannot listen for {purpose} on {endPoint}: {PortMessage(e)}", e);
        }
    }

    /// <summary>The client address to publish: --advertise-client, else where the client listener was bound unless that is a wildcard address.</summary>
    private static IPEndPoint? AdvertisedClient(RegistryNodeOptions options, IPEndPoint bound) =>
        options.AdvertisedClientEndPoint
        ?? (bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? null : bound);

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

    private static string PortMessage(Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => "the address is already in use",
        SocketException { SocketErrorCode: SocketError.AccessDenied } => "permission denied",
        _ => e.Message,
    };

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

        [LoggerMessage(2, LogLevel.Information, "Registry node {Id}: peers connect over mutual TLS 1.3 with cluster key {Fingerprint}")]
        public static partial void PeersOverTls(ILogger logger, int id, string fingerprint);

        [LoggerMessage(3, LogLevel.Warning, "Registry node {Id}: the peer port runs without authentication or encryption (--insecure-peer-transport)")]
        public static partial void PeersInClear(ILogger logger, int id);
    }
}
