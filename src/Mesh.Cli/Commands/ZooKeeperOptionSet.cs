using System.CommandLine;
using System.Net;
using Mesh.Registry.ZooKeeper;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Cli.Commands;

/// <summary>The flags of <c>mesh registry</c> for its ZooKeeper client port (docs/zookeeper.md).</summary>
internal sealed class ZooKeeperOptionSet
{
    private static readonly ZkSessionLimits Defaults = new();

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

    public void AddTo(Command command)
    {
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
        };
    }
}
