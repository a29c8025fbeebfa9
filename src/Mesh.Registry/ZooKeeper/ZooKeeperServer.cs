using System.Collections.Concurrent;
using System.Net;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.ZooKeeper.Forwarding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// The ZooKeeper client port of one registry node: a Kestrel listener whose connections speak
/// ZooKeeper's protocol over the same replicated tree as the HTTP API (docs/zookeeper.md). Reads
/// are served from this node's applied state; writes and session changes are proposed through
/// the same <see cref="RegistryWriter"/> as the HTTP API's on the leader, and forwarded to the
/// leader from a follower (<see cref="ZkLeaderClient"/>).
/// </summary>
internal sealed partial class ZooKeeperServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<ZkConnection, byte> _connections = new();

    // Which connection acts for each session connected here: the last one to connect with it.
    private readonly ConcurrentDictionary<long, ZkConnection> _owners = new();
    private readonly ILogger _logger;
    private WebApplication? _app;
    private long _received;
    private long _sent;
    private long _peakUnflushed;
    private readonly ZkSessionKey _sessionKey;
    private readonly ZkCutOffClock _cutOff;
    private ITimer? _readOnlyLook;

    /// <summary>How often a node in read-only mode looks whether it is cut off from its quorum (and a read-only session whether it has a leader again).</summary>
    public static readonly TimeSpan ReadOnlyLookEvery = TimeSpan.FromMilliseconds(100);

    public ZooKeeperServer(ZooKeeperOptions options, IConsensus consensus, RegistryStore store, ZkLeaderClient leader, Mesh.Registry.Sessions.KeepAliveBatcher keepAlives, ZkSessionKey key,
        ZkCredentials credentials, TimeProvider time, ILoggerFactory loggerFactory, RegistryMetrics? metrics = null)
    {
        Options = options;
        Consensus = consensus;
        Store = store;
        Leader = leader;
        KeepAlives = keepAlives;
        _sessionKey = key;
        Credentials = credentials;
        Time = time;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ZooKeeperServer>();
        Admission = new ZkAdmission(options, metrics, time, _logger);
        _cutOff = new ZkCutOffClock(time, ZooKeeperOptions.ReadOnlyAfter);
    }

    /// <summary>The connection, session and watch limits applied before any token is checked.</summary>
    public ZkAdmission Admission { get; }

    public ZooKeeperOptions Options { get; }

    public IConsensus Consensus { get; }

    public RegistryStore Store { get; }

    /// <summary>Where writes go: proposed here on the leader, forwarded to it from a follower.</summary>
    public ZkLeaderClient Leader { get; }

    /// <summary>Where connected sessions are renewed: this node's batch of keep-alives.</summary>
    public Mesh.Registry.Sessions.KeepAliveBatcher KeepAlives { get; }

    public ZkCredentials Credentials { get; }

    public TimeProvider Time { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The address bound (the real port when port 0 was asked for).</summary>
    public IPEndPoint? EndPoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Mesh.Common.Hosting.EmbeddedHostLifetime>();
        builder.Services.AddSingleton(this);
        builder.Logging.ClearProviders();
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(Options.EndPoint, l =>
            {
                listen = l;
                l.UseConnectionHandler<ZkConnectionHandler>();
            });
        });
        _app = builder.Build();
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            var reason = e.InnerException is AddressInUseException ? "the address is already in use" : e.Message;
            throw new StartupException($"cannot listen for ZooKeeper clients on {Options.EndPoint} (--zk): {reason}", e);
        }
        EndPoint = listen?.IPEndPoint is { Port: > 0 } bound ? bound : Options.EndPoint;
        if (Options.ReadOnlyMode)
            _readOnlyLook = Time.CreateTimer(_ => LookForQuorum(), null, ReadOnlyLookEvery, ReadOnlyLookEvery);
    }

    /// <summary>
    /// Read-only mode: whether this node serves read-only sessions now (cut off from its quorum for
    /// <see cref="ZooKeeperOptions.ReadOnlyAfter"/>). Always false with the mode off.
    /// </summary>
    public bool ReadOnlyNow => Options.ReadOnlyMode && !Serving && _cutOff.CutOff;

    // Cut off: the read-write sessions here can neither write nor be kept alive, so their
    // connections are closed and the clients reconnect, read-only where they allow it (a ZooKeeper
    // server that loses its quorum closes every connection too). A read-only session's connection
    // closes itself once the node serves again (ZkConnection).
    private void LookForQuorum()
    {
        ZkCutOffChange change;
        lock (_cutOff)
            change = _cutOff.Look(Serving);
        if (change == ZkCutOffChange.CutOff)
        {
            var closed = 0;
            foreach (var connection in _connections.Keys)
            {
                if (connection.CloseIfReadWrite())
                    closed++;
            }
            Log.ReadOnly(_logger, ZooKeeperOptions.ReadOnlyAfter.TotalSeconds, closed);
        }
        else if (change == ZkCutOffChange.ServingAgain)
        {
            Log.ServingAgain(_logger);
        }
    }

    public async Task ServeAsync(ConnectionContext connection)
    {
        using var slot = Admission.TryConnect(connection.RemoteEndPoint);
        if (slot is null)
        {
            connection.Abort();
            return;
        }
        var client = new ZkConnection(this, connection, _logger);
        _connections[client] = 0;
        try
        {
            await client.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(client, out _);
        }
    }

    /// <summary>
    /// Makes <paramref name="connection"/> the one that acts for <paramref name="sessionId"/> on this
    /// node, and returns the connection that did before, if any: as ZooKeeper does when a client
    /// reconnects with its session, the caller closes that one, so it can neither close the session
    /// nor act for it any more.
    /// </summary>
    public ZkConnection? Own(long sessionId, ZkConnection connection)
    {
        ZkConnection? before = null;
        _owners.AddOrUpdate(sessionId, connection, (_, current) =>
        {
            before = current;
            return connection;
        });
        return before == connection ? null : before;
    }

    /// <summary>Whether <paramref name="connection"/> still acts for <paramref name="sessionId"/> (no later connection took the session here).</summary>
    public bool Owns(long sessionId, ZkConnection connection) => _owners.TryGetValue(sessionId, out var owner) && owner == connection;

    /// <summary>A connection ends: it no longer acts for <paramref name="sessionId"/>, unless another took the session already.</summary>
    public void Disown(long sessionId, ZkConnection connection) => _owners.TryRemove(KeyValuePair.Create(sessionId, connection));

    public void Received() => Interlocked.Increment(ref _received);

    public void Sent() => Interlocked.Increment(ref _sent);

    /// <summary>A connection flushed <paramref name="bytes"/> it had buffered: kept as <see cref="PeakUnflushedBytes"/>.</summary>
    public void Buffered(long bytes)
    {
        var peak = Interlocked.Read(ref _peakUnflushed);
        while (bytes > peak && Interlocked.CompareExchange(ref _peakUnflushed, bytes, peak) is var seen && seen != peak)
            peak = seen;
    }

    /// <summary>The most reply bytes any connection held unflushed (bounded by <see cref="ZkConnection.FlushThreshold"/> plus one reply).</summary>
    public long PeakUnflushedBytes => Interlocked.Read(ref _peakUnflushed);

    /// <summary>Requests read off every connection so far.</summary>
    public long RequestsReceived => Interlocked.Read(ref _received);

    /// <summary>The key session passwords are derived from (<see cref="ZkSessionKey"/>); null until the leader has created the CA.</summary>
    public byte[]? SessionKey() => _sessionKey.Current();

    /// <summary>
    /// Whether this node serves clients: it leads, or knows a leader (its cluster has a quorum).
    /// Without one it is what ZooKeeper calls not running: connects are closed and <c>isro</c>
    /// answers <c>null</c>, as with ZooKeeper's default <c>readonlymode.enabled=false</c>.
    /// </summary>
    public bool Serving => Consensus.Role is ConsensusRole.Leader or ConsensusRole.Standalone || Consensus.LeaderId is not null;

    public ZkServerFacts Facts()
    {
        var readOnly = ReadOnlyNow;
        var (nodes, ephemerals, zxid) = Store.Read(s => (s.NodeCount, s.GetSessions().Sum(x => x.EphemeralCount), s.AppliedIndex));
        var mode = readOnly ? "read-only" : Consensus.Role switch
        {
            ConsensusRole.Leader => "leader",
            ConsensusRole.Standalone => "standalone",
            _ => "follower",
        };
        return new ZkServerFacts(mode, zxid, _connections.Count, 0, nodes, _connections.Keys.Sum(c => c.WatchCount), ephemerals,
            (EndPoint ?? Options.EndPoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Options,
            Interlocked.Read(ref _received), Interlocked.Read(ref _sent), Serving, readOnly);
    }

    public async ValueTask DisposeAsync()
    {
        if (_readOnlyLook is not null)
            await _readOnlyLook.DisposeAsync().ConfigureAwait(false);
        if (_app is null)
            return;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await _app.StopAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
        Admission.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "No leader for {Seconds} s: serving ZooKeeper clients read-only (--zk-read-only); closed {Closed} read-write connection(s) so their clients reconnect")]
        public static partial void ReadOnly(ILogger logger, double seconds, int closed);

        [LoggerMessage(21, LogLevel.Information, "A leader again: ZooKeeper clients are served read-write; read-only sessions are closed so their clients reconnect")]
        public static partial void ServingAgain(ILogger logger);
    }
}

/// <summary>Kestrel's entry point for a ZooKeeper connection.</summary>
internal sealed class ZkConnectionHandler(ZooKeeperServer server) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => server.ServeAsync(connection);
}
