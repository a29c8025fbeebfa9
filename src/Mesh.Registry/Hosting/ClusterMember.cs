using System.Globalization;
using System.Net;

namespace Mesh.Registry.Hosting;

/// <summary>
/// One voting member of the static cluster: its id, its advertised Raft (peer-to-peer) address
/// (an <see cref="IPEndPoint"/>, or a <see cref="DnsEndPoint"/> such as a StatefulSet pod's
/// name, resolved on every connect) and, optionally, its client API endpoint. Without that,
/// followers use the client address the member publishes itself.
/// </summary>
public sealed record ClusterMember(int Id, EndPoint RaftEndPoint, IPEndPoint? ClientEndPoint)
{
    /// <summary>
    /// Parses <c>1=127.0.0.1:7101,2=...</c> or <c>1=reg-0.peers:7101,...</c>: <c>id=host:port</c>,
    /// optionally followed by <c>@clientIp:port</c>. Throws <see cref="FormatException"/> with a
    /// one-line message listing every problem.
    /// </summary>
    public static IReadOnlyList<ClusterMember> ParseList(string text)
    {
        var members = new List<ClusterMember>();
        var errors = new List<string>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = item.IndexOf('=');
            if (eq <= 0 || !int.TryParse(item.AsSpan(0, eq), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            {
                errors.Add($"'{item}' is not id=host:port[@host:port] with a positive id");
                continue;
            }
            var rest = item[(eq + 1)..];
            var at = rest.IndexOf('@');
            var raftText = at < 0 ? rest : rest[..at];
            var clientText = at < 0 ? null : rest[(at + 1)..];
            if (ParseRaftEndPoint(raftText) is not { } raft)
            {
                errors.Add($"member {id}: '{raftText}' is not an IP address or host name with a port");
                continue;
            }
            IPEndPoint? client = null;
            if (clientText is not null && (!IPEndPoint.TryParse(clientText, out client) || client.Port == 0))
            {
                errors.Add($"member {id}: client address '{clientText}' is not an IP address with a port");
                continue;
            }
            members.Add(new ClusterMember(id, raft, client));
        }
        foreach (var dup in members.GroupBy(m => m.Id).Where(g => g.Count() > 1))
            errors.Add($"member id {dup.Key} is listed more than once");
        foreach (var dup in members.GroupBy(m => Format(m.RaftEndPoint)).Where(g => g.Count() > 1))
            errors.Add($"address {dup.Key} is listed more than once");
        if (members.Count == 0 && errors.Count == 0)
            errors.Add("the peer list is empty");
        if (errors.Count > 0)
            throw new FormatException("invalid --peers: " + string.Join("; ", errors));
        return members.OrderBy(m => m.Id).ToArray();
    }

    /// <summary><c>host:port</c> for a host name, the usual form for an IP address.</summary>
    public static string Format(EndPoint endPoint) => endPoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port.ToString(CultureInfo.InvariantCulture)}",
        _ => endPoint.ToString() ?? "",
    };

    private static EndPoint? ParseRaftEndPoint(string text)
    {
        if (IPEndPoint.TryParse(text, out var ip))
            return ip.Port == 0 ? null : ip;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            return null;
        var host = text[..colon];
        return Uri.CheckHostName(host) == UriHostNameType.Dns ? new DnsEndPoint(host, port) : null;
    }

    public override string ToString() =>
        ClientEndPoint is null ? $"{Id}={Format(RaftEndPoint)}" : $"{Id}={Format(RaftEndPoint)}@{ClientEndPoint}";
}
