// Secure by default: a cluster whose Raft port can be reached from another host refuses to start
// without the cluster key, unless the operator says in so many words that it runs in clear.
// Whoever reaches an unprotected peer port speaks Raft to it: forges votes and entries (a CA of
// their own under /mesh/ca, so any identity) and reads every entry and snapshot (the CA key).
// Loopback-only clusters (tests, the demo) are reachable only from this host and start as before.
using System.Net;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.PeerTls;

internal static class PeerExposure
{
    public const string InsecureFlag = "--insecure-peer-transport";

    /// <summary>
    /// Null when the node may start; else the one-line reason. <paramref name="listen"/> is where
    /// the peer port listens (null: the node's own <paramref name="members"/> entry).
    /// </summary>
    public static string? Check(IReadOnlyList<ClusterMember> members, IPEndPoint? listen, bool hasKey, bool insecure)
    {
        if (hasKey && insecure)
            return $"{ClusterKey.Flag} and {InsecureFlag} contradict each other: give one";
        if (hasKey || insecure || members.Count <= 1)
            return null;
        var exposed = listen is not null && !IsLoopback(listen)
            ? $"--listen-peer is {listen}"
            : members.FirstOrDefault(m => !IsLoopback(m.RaftEndPoint)) is { } member
                ? $"--peers lists {ClusterMember.Format(member.RaftEndPoint)}"
                : null;
        return exposed is null
            ? null
            : $"the Raft peer port can be reached from other hosts ({exposed}) and has no cluster key: whoever reaches it could forge votes and writes "
                + $"and read every entry, the CA key included. Give every node the same {ClusterKey.Flag} PATH (make one with `mesh registry keygen`), "
                + $"or {InsecureFlag} to run it without authentication or encryption (docs/security.md, \"The peer port\")";
    }

    /// <summary>127.0.0.0/8, ::1 and the name localhost; a wildcard address (0.0.0.0, ::) is every interface, so not loopback.</summary>
    internal static bool IsLoopback(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => IPAddress.IsLoopback(ip.Address),
        DnsEndPoint dns => string.Equals(dns.Host, "localhost", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
