using Mesh.Registry.Core.Acls;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// Whether an HTTP caller may read a node that has a ZooKeeper ACL. A ZooKeeper client that
/// protects a node (<c>digest:alice:…</c> with READ, say) expects nobody else to read it; a
/// sidecar's join token must not be the way round that. Over HTTP a caller holds no ZooKeeper
/// identity (the <c>ip</c> one would name a relaying follower, not the client), so a join token
/// reads only what <c>world:anyone</c> may read. Operator tokens are the registry's operators and
/// read every node but the CA's, as before. With authentication off (a development registry,
/// where anyone may also write anything) nothing is checked.
/// </summary>
internal static class NodeReadAccess
{
    private static readonly AclId[] NoIdentity = [];

    /// <summary>May <paramref name="caller"/> read a node whose ACL is <paramref name="acl"/> (null: open)?</summary>
    public static bool Allows(bool authEnabled, ApiCaller? caller, IReadOnlyList<AclEntry>? acl) =>
        acl is null || !SeesOnlyOpenNodes(authEnabled, caller) || IsWorldReadable(acl);

    /// <summary>Whether <paramref name="caller"/> reads, and hears of, only nodes anyone may read: a join token, with authentication on.</summary>
    public static bool SeesOnlyOpenNodes(bool authEnabled, ApiCaller? caller) => authEnabled && caller is not ApiCaller.Operator;

    /// <summary>Whether anyone at all may read a node with <paramref name="acl"/>: what a record shared by every watcher may carry.</summary>
    public static bool IsWorldReadable(IReadOnlyList<AclEntry>? acl) => NodeAcl.Allows(acl, AclPerms.Read, NoIdentity);

    public static string Refusal(string path) =>
        $"the ZooKeeper ACL of {path} does not let anyone read it, and a join token reads only what anyone may; read it with an operator token or over the ZooKeeper port";
}
