using System.Net;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper;

/// <summary>The ZooKeeper client port of a registry node (<c>--zk host:port</c>); docs/zookeeper.md.</summary>
public sealed record ZooKeeperOptions
{
    /// <summary>The four-letter words answered by default (ZooKeeper's <c>4lw.commands.whitelist</c>).</summary>
    public static IReadOnlySet<string> AllFourLetterWords { get; } = new HashSet<string>(StringComparer.Ordinal) { "ruok", "srvr", "stat", "mntr", "envi", "conf", "isro" };

    /// <summary>Where to listen; port 0 takes any free port (read it back from <see cref="Hosting.RegistryNode.ZooKeeperEndPoint"/>).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>
    /// Development mode (<c>--zk-open</c>): every client may read and write everything but
    /// <c>/mesh/ca</c> without authenticating. Off by default: a client must first send digest
    /// credentials whose password is a registry token.
    /// </summary>
    public bool Open { get; init; }

    /// <summary>Session timeouts granted (ZooKeeper's min/max session timeout).</summary>
    public ZkSessionLimits SessionLimits { get; init; } = new();

    /// <summary>Four-letter words answered (<c>--zk-4lw</c>); others are ignored and the connection closed.</summary>
    public IReadOnlySet<string> FourLetterWords { get; init; } = AllFourLetterWords;

    /// <summary>Open connections one remote address may hold (<c>--zk-max-client-cnxns</c>, ZooKeeper's <c>maxClientCnxns</c>); more are closed at once.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 60;

    /// <summary>Open connections in total (<c>--zk-max-connections</c>); more are closed at once.</summary>
    public int MaxConnections { get; init; } = 2_000;

    /// <summary>
    /// New sessions one remote address may open per second (<c>--zk-session-rate</c>), with bursts of
    /// <see cref="SessionBurstPerAddress"/>: each is a replicated write made before the client has
    /// authenticated. A connect over the rate is closed without an answer. Resumed sessions do not count.
    /// </summary>
    public int SessionsPerSecondPerAddress { get; init; } = 20;

    /// <summary>The token bucket's size for <see cref="SessionsPerSecondPerAddress"/>: twice the rate, unless set.</summary>
    public int SessionBurstPerAddress
    {
        get => _sessionBurst ?? 2 * SessionsPerSecondPerAddress;
        init => _sessionBurst = value;
    }

    /// <summary>Watches one session may keep (<c>--zk-max-watches</c>); a request that would set more is answered ThrottledOp.</summary>
    public int MaxWatchesPerSession { get; init; } = 10_000;

    /// <summary>
    /// Serve createTTL and the TTL create modes (<c>--zk-ttl-nodes</c>, ZooKeeper's
    /// <c>zookeeper.extendedTypesEnabled=true</c>). Off by default, as in ZooKeeper: they answer
    /// Unimplemented (-6). Containers are served either way.
    /// </summary>
    public bool TtlNodes { get; init; }

    /// <summary>
    /// Read-only mode (<c>--zk-read-only</c>, ZooKeeper's <c>readonlymode.enabled=true</c>): a node
    /// cut off from its quorum for <see cref="ReadOnlyAfter"/> serves clients that allow read-only
    /// sessions (<c>canBeReadOnly</c>) from its own last applied state, answers their writes and
    /// syncs NotReadOnly, and closes them once it has a leader again. Off by default, as in
    /// ZooKeeper: such a node serves nobody.
    /// </summary>
    public bool ReadOnlyMode { get; init; }

    /// <summary>
    /// How long a node must be without a leader before it counts as cut off (read-only mode): long
    /// enough that an ordinary election (600–1,200 ms) does not turn clients read-only for a moment.
    /// </summary>
    public static TimeSpan ReadOnlyAfter { get; } = TimeSpan.FromSeconds(1);

    private readonly int? _sessionBurst;

    public string? Validate()
    {
        if (SessionLimits.Validate() is { } limits)
            return limits;
        if (MaxConnectionsPerAddress < 1 || MaxConnections < 1)
            return $"--zk-max-client-cnxns ({MaxConnectionsPerAddress}) and --zk-max-connections ({MaxConnections}) must be at least 1";
        if (SessionsPerSecondPerAddress < 1 || SessionBurstPerAddress < 1)
            return $"--zk-session-rate ({SessionsPerSecondPerAddress}) must be at least 1";
        if (MaxWatchesPerSession < 1)
            return $"--zk-max-watches ({MaxWatchesPerSession}) must be at least 1";
        var unknown = FourLetterWords.Where(w => !AllFourLetterWords.Contains(w)).ToArray();
        return unknown.Length > 0
            ? $"--zk-4lw: unknown four-letter word(s) {string.Join(", ", unknown)} (known: {string.Join(", ", AllFourLetterWords.Order())})"
            : null;
    }
}
