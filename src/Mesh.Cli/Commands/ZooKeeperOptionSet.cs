using System.CommandLine;
using System.Net;
using Mesh.Registry.ZooKeeper;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Cli.Commands;

/// <summary>The flags of <c>mesh registry</c> for its ZooKeeper client port (docs/zookeeper.md).</summary>
internal sealed class ZooKeeperOptionSet
{
    private static readonly ZkSessionLimits Defaults = new();

    private static readonly ZooKeeperOptions DefaultOptions = new() { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) };

    private readonly Option<string?> _endPoint = new("--zk")
    {
        Description = "host:port to serve the ZooKeeper client protocol on (e.g. 127.0.0.1:2181; port 0: any free port, named in the start-up log). Off when omitted.",
    };

    private readonly Option<bool> _open = new("--zk-open")
    {
        Description = "Development only: ZooKeeper clients read and write everything but /mesh/ca without authenticating. "
            + "Default: a client must first `addauth digest NAME:TOKEN` with a registry token.",
    };

    private readonly Option<string?> _words = new("--zk-4lw")
    {
        Description = "Comma-separated four-letter words to answer (default: ruok,srvr,stat,mntr,envi,conf,isro; empty: none).",
    };

    private readonly Option<int> _minTimeout = new("--zk-min-session-timeout")
    {
        Description = "Shortest ZooKeeper session timeout granted, in ms.",
        DefaultValueFactory = _ => Defaults.MinTimeoutMs,
    };

    private readonly Option<int> _maxTimeout = new("--zk-max-session-timeout")
    {
        Description = "Longest ZooKeeper session timeout granted, in ms.",
        DefaultValueFactory = _ => Defaults.MaxTimeoutMs,
    };

    private readonly Option<int> _perAddress = new("--zk-max-client-cnxns")
    {
        Description = "Open ZooKeeper connections one client IP address may hold (ZooKeeper's maxClientCnxns); more are closed at once.",
        DefaultValueFactory = _ => DefaultOptions.MaxConnectionsPerAddress,
    };

    private readonly Option<int> _total = new("--zk-max-connections")
    {
        Description = "Open ZooKeeper connections in total; more are closed at once.",
        DefaultValueFactory = _ => DefaultOptions.MaxConnections,
    };

    private readonly Option<int> _sessionRate = new("--zk-session-rate")
    {
        Description = "New ZooKeeper sessions one client IP address may open per second (bursts of twice that); a connect over it is closed unanswered.",
        DefaultValueFactory = _ => DefaultOptions.SessionsPerSecondPerAddress,
    };

    private readonly Option<int> _watches = new("--zk-max-watches")
    {
        Description = "Watches one ZooKeeper session may keep; a request that would set more is answered ThrottledOp (-127).",
        DefaultValueFactory = _ => DefaultOptions.MaxWatchesPerSession,
    };

    private readonly Option<bool> _ttlNodes = new("--zk-ttl-nodes")
    {
        Description = "Serve createTTL and the TTL create modes (ZooKeeper's zookeeper.extendedTypesEnabled=true). Off: they answer Unimplemented, as ZooKeeper's default.",
    };

    private readonly Option<bool> _readOnly = new("--zk-read-only")
    {
        Description = "Read-only mode (ZooKeeper's readonlymode.enabled=true): a node cut off from its quorum serves clients that allow it (canBeReadOnly) from its last state, answering writes NotReadOnly. Off: such a node serves nobody, as ZooKeeper's default.",
    };

    private readonly Option<int> _containerCheck = new("--container-check-interval")
    {
        Description = "How often the leader reaps empty containers and expired TTL nodes, in ms (ZooKeeper's znode.container.checkIntervalMs, whose default is 60000).",
        DefaultValueFactory = _ => (int)DefaultReaper.CheckInterval.TotalMilliseconds,
    };

    private readonly Option<long> _containerNeverUsed = new("--container-max-never-used")
    {
        Description = "Reap a container that never had a child once its data is this old, in ms; 0: never (ZooKeeper's znode.container.maxNeverUsedIntervalMs).",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Mesh.Registry.Reaping.NodeReaperOptions DefaultReaper = new();

    public void AddTo(Command command)
    {
        command.Options.Add(_ttlNodes);
        command.Options.Add(_readOnly);
        command.Options.Add(_containerCheck);
        command.Options.Add(_containerNeverUsed);
        command.Options.Add(_perAddress);
        command.Options.Add(_total);
        command.Options.Add(_sessionRate);
        command.Options.Add(_watches);
        command.Options.Add(_endPoint);
        command.Options.Add(_open);
        command.Options.Add(_words);
        command.Options.Add(_minTimeout);
        command.Options.Add(_maxTimeout);
    }

    /// <summary>Null without <c>--zk</c>. Throws <see cref="FormatException"/> naming the flag.</summary>
    public ZooKeeperOptions? Read(ParseResult parseResult)
    {
        if (parseResult.GetValue(_endPoint) is not { } text)
            return null;
        if (!IPEndPoint.TryParse(text, out var endPoint) || (endPoint.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal)))
            throw new FormatException($"--zk '{text}' is not an IP address with a port");
        var words = parseResult.GetValue(_words) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal)
            : ZooKeeperOptions.AllFourLetterWords;
        return new ZooKeeperOptions
        {
            EndPoint = endPoint,
            Open = parseResult.GetValue(_open),
            FourLetterWords = words,
            SessionLimits = new ZkSessionLimits(parseResult.GetValue(_minTimeout), parseResult.GetValue(_maxTimeout)),
            MaxConnectionsPerAddress = parseResult.GetValue(_perAddress),
            MaxConnections = parseResult.GetValue(_total),
            SessionsPerSecondPerAddress = parseResult.GetValue(_sessionRate),
            MaxWatchesPerSession = parseResult.GetValue(_watches),
            TtlNodes = parseResult.GetValue(_ttlNodes),
            ReadOnlyMode = parseResult.GetValue(_readOnly),
        };
    }

    /// <summary>The reaper's options (they apply with or without <c>--zk</c>: the leader reaps whichever node serves ZooKeeper).</summary>
    public Mesh.Registry.Reaping.NodeReaperOptions ReadReaper(ParseResult parseResult) => new()
    {
        CheckInterval = TimeSpan.FromMilliseconds(parseResult.GetValue(_containerCheck)),
        MaxNeverUsed = TimeSpan.FromMilliseconds(parseResult.GetValue(_containerNeverUsed)),
    };
}
