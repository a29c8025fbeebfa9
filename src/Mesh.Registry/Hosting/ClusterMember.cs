using System.Globalization;
using System.Net;

namespace Mesh.Registry.Hosting;

/// <summary>
/// One voting member of the static cluster: its id, its Raft (peer-to-peer) endpoint and, when
/// known, its client API endpoint, which followers need to forward writes to the leader.
/// </summary>
public sealed record ClusterMember(int Id, IPEndPoint RaftEndPoint, IPEndPoint? ClientEndPoint)
{
    /// <summary>
    /// Parses <c>1=127.0.0.1:7101@127.0.0.1:7001,2=...</c>: <c>id=raftHost:port</c>, optionally
    /// followed by <c>@clientHost:port</c>. Throws <see cref="FormatException"/> with a one-line
    /// message listing every problem.
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
            if (!IPEndPoint.TryParse(raftText, out var raft) || raft.Port == 0)
            {
                errors.Add($"member {id}: '{raftText}' is not an IP address with a port");
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
        foreach (var dup in members.GroupBy(m => m.RaftEndPoint.ToString()).Where(g => g.Count() > 1))
            errors.Add($"address {dup.Key} is listed more than once");
        if (members.Count == 0 && errors.Count == 0)
            errors.Add("the peer list is empty");
        if (errors.Count > 0)
            throw new FormatException("invalid --peers: " + string.Join("; ", errors));
        return members.OrderBy(m => m.Id).ToArray();
    }

    public override string ToString() =>
        ClientEndPoint is null ? $"{Id}={RaftEndPoint}" : $"{Id}={RaftEndPoint}@{ClientEndPoint}";
}
