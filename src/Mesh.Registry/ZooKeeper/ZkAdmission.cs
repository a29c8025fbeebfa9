using System.Net;
using System.Threading.RateLimiting;
using Mesh.Registry.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// What the ZooKeeper port lets in before any token is checked. A client connects, is given a
/// session (a replicated write) and only then authenticates, as ZooKeeper's protocol has it, so
/// without limits anyone who reaches the port could fill the node with connections and the log
/// with sessions. Three limits apply: open connections per remote address (ZooKeeper's
/// <c>maxClientCnxns</c>) and in total, refused by closing the connection at once; and new
/// sessions per remote address, a token bucket, refused by closing the connection without an
/// answer, which a ZooKeeper client treats as a server to retry later or elsewhere. Every refusal
/// is counted (<c>mesh.registry.zookeeper.refused</c>) and logged at most once per
/// <see cref="LogEvery"/> per reason, with how many were not logged.
/// </summary>
internal sealed partial class ZkAdmission : IDisposable
{
    public static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private readonly ZooKeeperOptions _options;
    private readonly RegistryMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private readonly PartitionedRateLimiter<IPAddress> _sessions;
    private readonly Dictionary<string, (long LoggedAt, long Suppressed)> _logged = new(StringComparer.Ordinal);
    private int _open;
    private long _refused;

    public ZkAdmission(ZooKeeperOptions options, RegistryMetrics? metrics, TimeProvider time, ILogger logger)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _sessions = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.SessionBurstPerAddress,
                TokensPerPeriod = options.SessionsPerSecondPerAddress,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Open connections now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections, sessions and watches refused since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Takes a connection slot for <paramref name="remote"/>; null (logged, counted) when a cap is reached. Dispose the slot when the connection ends.</summary>
    public IDisposable? TryConnect(EndPoint? remote)
    {
        var address = AddressOf(remote);
        lock (_perAddress)
        {
            if (_open >= _options.MaxConnections)
            {
                Refuse("connections", address, $"{_options.MaxConnections} ZooKeeper connections are open (--zk-max-connections)");
                return null;
            }
            var mine = _perAddress.GetValueOrDefault(address);
            if (mine >= _options.MaxConnectionsPerAddress)
            {
                Refuse("connections-per-address", address, $"it has {mine} ZooKeeper connections open (--zk-max-client-cnxns)");
                return null;
            }
            _perAddress[address] = mine + 1;
            _open++;
        }
        return new Slot(this, address);
    }

    /// <summary>True when <paramref name="remote"/> may open one more session now; otherwise logged and counted.</summary>
    public bool TryOpenSession(EndPoint? remote)
    {
        var address = AddressOf(remote);
        using var lease = _sessions.AttemptAcquire(address);
        if (lease.IsAcquired)
            return true;
        Refuse("session-rate", address, $"it opens new ZooKeeper sessions faster than {_options.SessionsPerSecondPerAddress}/s (burst {_options.SessionBurstPerAddress}, --zk-session-rate)");
        return false;
    }

    /// <summary>A request that would take a session past its watch limit: counted and logged (the session is answered ThrottledOp).</summary>
    public void WatchLimitReached(EndPoint? remote, long sessionId) =>
        Refuse("watches", AddressOf(remote), $"session 0x{sessionId:x} would keep more than {_options.MaxWatchesPerSession} watches (--zk-max-watches)");

    /// <summary>An <c>addauth</c> refused unchecked, its address having failed too often (<see cref="Api.Access.AuthFailureLimiter"/>): counted and logged.</summary>
    public void AuthFailuresReached(EndPoint? remote, string why) => Refuse("auth-failures", AddressOf(remote), why);

    private void Release(IPAddress address)
    {
        lock (_perAddress)
        {
            _open--;
            var left = _perAddress[address] - 1;
            if (left == 0)
                _perAddress.Remove(address);
            else
                _perAddress[address] = left;
        }
    }

    private void Refuse(string reason, IPAddress address, string why)
    {
        Interlocked.Increment(ref _refused);
        _metrics?.ZooKeeperRefused(reason);
        long suppressed;
        lock (_logged)
        {
            var now = _time.GetTimestamp();
            var (loggedAt, count) = _logged.GetValueOrDefault(reason, (0L, 0L));
            if (loggedAt != 0 && _time.GetElapsedTime(loggedAt, now) < LogEvery)
            {
                _logged[reason] = (loggedAt, count + 1);
                return;
            }
            _logged[reason] = (now, 0);
            suppressed = count;
        }
        Log.Refused(_logger, address, why, suppressed, LogEvery.TotalSeconds);
    }

    /// <summary>The remote IP address, IPv4-mapped IPv6 addresses as IPv4, so one client is one key either way.</summary>
    private static IPAddress AddressOf(EndPoint? remote) => remote switch
    {
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => ip.Address.MapToIPv4(),
        IPEndPoint ip => ip.Address,
        _ => IPAddress.None,
    };

    public void Dispose() => _sessions.Dispose();

    private sealed class Slot(ZkAdmission owner, IPAddress address) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                owner.Release(address);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "ZooKeeper client {Address} refused: {Why} ({Suppressed} more refusals in the last {Seconds} s not logged)")]
        public static partial void Refused(ILogger logger, IPAddress address, string why, long suppressed, double seconds);
    }
}
