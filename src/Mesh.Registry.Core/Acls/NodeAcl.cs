using System.Net;

namespace Mesh.Registry.Core.Acls;

/// <summary>
/// Per-node access control as ZooKeeper decides it. A node's ACL is null for the open ACL
/// (<c>world:anyone</c> with all rights), which nearly every node has, so it costs nothing to keep
/// or store. Only writes that carry a caller (<see cref="Commands.CommandHeader.Caller"/>, the
/// ZooKeeper port) are checked; the HTTP API keeps to the registry's token policy.
/// </summary>
public static class NodeAcl
{
    public static AclId Anyone { get; } = new("world", "anyone");

    /// <summary>The open ACL spelled out, as ZooKeeper reports it.</summary>
    public static IReadOnlyList<AclEntry> OpenEntries { get; } = [new AclEntry(AclPerms.All, Anyone)];

    /// <summary><paramref name="acl"/>, or <see cref="OpenEntries"/> for null.</summary>
    public static IReadOnlyList<AclEntry> Entries(IReadOnlyList<AclEntry>? acl) => acl ?? OpenEntries;

    /// <summary>Null when <paramref name="acl"/> is the open ACL (the form nodes keep), else the list.</summary>
    public static IReadOnlyList<AclEntry>? Compact(IReadOnlyList<AclEntry>? acl) =>
        acl is null || acl.Count == 1 && acl[0] == OpenEntries[0] ? null : acl;

    /// <summary>
    /// Whether <paramref name="caller"/> holds <paramref name="perm"/> on a node with <paramref name="acl"/>
    /// (ZooKeeper's <c>checkACL</c>): an empty ACL allows everything; otherwise an entry with the
    /// right must name <c>world:anyone</c> or match one of the caller's identities.
    /// </summary>
    public static bool Allows(IReadOnlyList<AclEntry>? acl, int perm, IReadOnlyList<AclId> caller)
    {
        if (acl is null || acl.Count == 0)
        {
            return true;
        }

        foreach (var entry in acl)
        {
            if ((entry.Perms & perm) == 0)
            {
                continue;
            }

            if (entry.Id == Anyone)
            {
                return true;
            }

            foreach (var id in caller)
            {
                if (Matches(entry.Id, id))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool Matches(AclId acl, AclId held) =>
        acl.Scheme == held.Scheme && (acl.Scheme == "ip" ? IpMatches(acl.Id, held.Id) : acl.Id == held.Id);

    /// <summary>ZooKeeper's ip scheme: <c>ADDR</c> or <c>ADDR/BITS</c>, matching addresses of that prefix.</summary>
    public static bool IsValidIp(string id) => ParseIp(id) is not null;

    private static bool IpMatches(string acl, string address)
    {
        if (ParseIp(acl) is not var (network, bits) || !IPAddress.TryParse(address, out var held))
        {
            return false;
        }

        if (held.IsIPv4MappedToIPv6)
        {
            held = held.MapToIPv4();
        }

        var a = network.GetAddressBytes();
        var b = held.GetAddressBytes();
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < bits; i++)
        {
            var mask = 0x80 >> (i % 8);
            if ((a[i / 8] & mask) != (b[i / 8] & mask))
            {
                return false;
            }
        }

        return true;
    }

    private static (IPAddress Network, int Bits)? ParseIp(string id)
    {
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        var text = slash < 0 ? id : id[..slash];
        // IPv4 as ZooKeeper writes it (four dotted parts), or IPv6.
        if (!IPAddress.TryParse(text, out var address) || !text.Contains(':', StringComparison.Ordinal) && text.Split('.').Length != 4)
        {
            return null;
        }

        var max = address.GetAddressBytes().Length * 8;
        if (slash < 0)
        {
            return (address, max);
        }

        return int.TryParse(id.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bits) && bits <= max
            ? (address, bits)
            : null;
    }
}
