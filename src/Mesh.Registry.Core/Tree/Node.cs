using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Tree;

/// <summary>
/// One node of the tree (mutable, owned by the state machine). Children are kept sorted by
/// name (ordinal), so listing, recursive deletes and snapshots need neither a sort nor a lookup;
/// appends in name order (sequential nodes, restores) are O(1).
/// </summary>
internal sealed class Node(string name)
{
    public string Name { get; } = name;

    public ReadOnlyMemory<byte> Data;
    public long Version;
    public long ChildVersion;
    public long CreatedIndex;
    public long ModifiedIndex;
    public long CreatedTime;
    public long ModifiedTime;

    /// <summary>Index of the last child creation or deletion (ZooKeeper's pzxid); the creation index until then.</summary>
    public long ChildModifiedIndex;
    public long EphemeralOwner;

    /// <summary>The quota owner (namespace) that created this node, or null.</summary>
    public string? Owner;

    /// <summary>The node's ACL; null for the open ACL (<see cref="NodeAcl"/>).</summary>
    public IReadOnlyList<AclEntry>? Acl;

    /// <summary>Number of ACL changes since creation (ZooKeeper's aversion).</summary>
    public long AclVersion;

    /// <summary>Container or TTL node (reaped by the leader), or plain.</summary>
    public NodeKind Kind;

    /// <summary>A TTL node's TTL in ms; 0 otherwise.</summary>
    public long TtlMs;
    public List<Node>? Children;

    public int ChildCount => Children?.Count ?? 0;

    public NodeStat Stat => new(
        Version, ChildVersion, CreatedIndex, ModifiedIndex, CreatedTime, ModifiedTime, EphemeralOwner, Data.Length, ChildCount, ChildModifiedIndex, AclVersion, Kind, TtlMs);

    public string[] ChildNames()
    {
        if (Children is not { Count: > 0 } children)
        {
            return [];
        }

        var names = new string[children.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = children[i].Name;
        }

        return names;
    }

    public void AddChild(Node child)
    {
        var children = Children ??= [];
        if (children.Count == 0 || string.CompareOrdinal(children[^1].Name, child.Name) < 0)
        {
            children.Add(child);
            return;
        }

        children.Insert(~Find(children, child.Name), child);
    }

    public void RemoveChild(Node child)
    {
        var children = Children!;
        var at = ReferenceEquals(children[^1], child) ? children.Count - 1 : Find(children, child.Name);
        children.RemoveAt(at);
    }

    // List<T>.BinarySearch contract: the index, or the bitwise complement of the insertion point.
    private static int Find(List<Node> children, string name)
    {
        int lo = 0, hi = children.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var c = string.CompareOrdinal(children[mid].Name, name);
            if (c == 0)
            {
                return mid;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }
}
