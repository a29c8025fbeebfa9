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

    public string? Validate()
    {
        if (SessionLimits.Validate() is { } limits)
            return limits;
        var unknown = FourLetterWords.Where(w => !AllFourLetterWords.Contains(w)).ToArray();
        return unknown.Length > 0
            ? $"--zk-4lw: unknown four-letter word(s) {string.Join(", ", unknown)} (known: {string.Join(", ", AllFourLetterWords.Order())})"
            : null;
    }
}
