using Mesh.Registry.Core.Paths;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// ZooKeeper's own subtree, <c>/zookeeper</c> with <c>quota</c> and <c>config</c>, answered the
/// way a fresh standalone ZooKeeper 3.8 answers it (stats measured against one: zero zxids and
/// times, cversion -2 on /zookeeper, aversion -1 and a read-only ACL on config). It is not in the
/// registry's tree, and it is read-only: writes there are NoAuth, deleting /zookeeper itself is
/// BadArguments, as ZooKeeper answers. Clients (Curator's ensemble tracker, zkCli's
/// <c>ls /</c>) see it listed under the root.
/// </summary>
internal static class ZkSystemTree
{
    public const string Root = "/zookeeper";
    public const string Name = "zookeeper";
    public const string Config = "/zookeeper/config";
    public const string Quota = "/zookeeper/quota";

    /// <summary>ZooDefs.Perms.READ: the config node is world-readable only.</summary>
    private static readonly IReadOnlyList<Acl> ReadAcl = [new Acl(1, new Id("world", "anyone"))];

    public static bool Contains(string path) => path == Root || path == Config || path == Quota;

    /// <summary>NoAuth for /zookeeper and anything below it, where nothing may be written.</summary>
    public static ZkError? RefuseWrite(string path) => NodePath.IsSelfOrDescendant(path, Root) ? ZkError.NoAuth : null;

    public static Stat StatOf(string path) => path == Root
        ? new Stat(0, 0, 0, 0, 0, Cversion: -2, 0, 0, 0, NumChildren: 2, 0)
        : new Stat(0, 0, 0, 0, 0, 0, Aversion: path == Config ? -1 : 0, 0, 0, 0, 0);

    public static List<string?> Children(string path) => path == Root ? ["config", "quota"] : [];

    public static IReadOnlyList<Acl> AclOf(string path) => path == Config ? ReadAcl : Acl.OpenUnsafe;

    /// <summary>The root's children with "zookeeper" in its place among them (names are sorted).</summary>
    public static List<string?> WithSystemChild(IReadOnlyList<string> rootChildren)
    {
        var names = new List<string?>(rootChildren.Count + 1);
        var added = false;
        foreach (var name in rootChildren)
        {
            if (!added && string.CompareOrdinal(name, Name) >= 0)
            {
                added = true;
                if (name != Name)
                    names.Add(Name);
            }
            names.Add(name);
        }
        if (!added)
            names.Add(Name);
        return names;
    }
}
