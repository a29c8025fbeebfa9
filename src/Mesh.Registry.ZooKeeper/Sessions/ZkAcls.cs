using Mesh.Registry.Core.Acls;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// ZooKeeper's ACL records as the registry keeps them, checked as ZooKeeper's <c>fixupACL</c>
/// checks them: schemes world (id <c>anyone</c>), digest (<c>USER:HASH</c>), ip (<c>ADDR[/BITS]</c>)
/// and auth (every digest identity of the session, which must have one); anything else, an
/// empty list, or more than <see cref="MaxEntries"/> entries is InvalidACL. Repeated entries are kept once.
/// </summary>
internal static class ZkAcls
{
    /// <summary>
    /// Entries one ACL may have, at most, after <c>auth</c> entries are spelled out (ZooKeeper has no
    /// bound but its 1 MiB frames). The node keeps them in every snapshot, the write carries them in
    /// the replicated log, and each <c>auth</c> entry becomes one per digest identity of the
    /// session: a 1 MiB request could otherwise become an ACL of a million entries.
    /// </summary>
    public const int MaxEntries = 1024;

    public static (IReadOnlyList<AclEntry>? Acl, ZkError? Error) FromRequest(IReadOnlyList<Acl>? requested, IReadOnlyList<AclId> held)
    {
        if (requested is not { Count: > 0 and <= MaxEntries })
            return (null, ZkError.InvalidAcl);
        var entries = new List<AclEntry>(requested.Count);
        foreach (var acl in requested)
        {
            var (scheme, id) = (acl.Id.Scheme ?? "", acl.Id.Identity ?? "");
            switch (scheme)
            {
                case "world" when id == "anyone":
                case "digest" when IsDigestId(id):
                case "ip" when NodeAcl.IsValidIp(id):
                    entries.Add(new AclEntry(acl.Perms, new AclId(scheme, id)));
                    break;
                case "auth":
                    var digests = held.Where(h => h.Scheme == "digest").ToList();
                    if (digests.Count == 0)
                        return (null, ZkError.InvalidAcl);
                    entries.AddRange(digests.Select(d => new AclEntry(acl.Perms, d)));
                    break;
                default:
                    return (null, ZkError.InvalidAcl);
            }
        }
        List<AclEntry> distinct = [.. entries.Distinct()];
        return distinct.Count > MaxEntries ? (null, ZkError.InvalidAcl) : (NodeAcl.Compact(distinct), null);
    }

    // ZooKeeper's test, id.split(":").length == 2, where Java drops trailing empty parts.
    private static bool IsDigestId(string id) => id.TrimEnd(':').Split(':').Length == 2;

    /// <summary>
    /// A node's ACL as getACL answers it: without ADMIN on the node (READ is enough to ask), the
    /// hashes of digest entries read <c>x</c>, as ZooKeeper hides them.
    /// </summary>
    public static List<Acl> ToRecords(IReadOnlyList<AclEntry>? acl, bool admin) =>
        [.. NodeAcl.Entries(acl).Select(e => new Acl(e.Perms, new Id(e.Id.Scheme, !admin && e.Id.Scheme == "digest" ? Redact(e.Id.Id) : e.Id.Id)))];

    private static string Redact(string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? id : id[..(colon + 1)] + "x";
    }
}
