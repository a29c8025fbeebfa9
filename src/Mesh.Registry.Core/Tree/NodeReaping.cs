namespace Mesh.Registry.Core.Tree;

/// <summary>
/// The rules by which container and TTL nodes are reaped, ZooKeeper 3.8's (its ContainerManager):
/// a node with children is never reaped; an empty container is reaped once it has had a child
/// (its child version is not 0), or, when <c>maxNeverUsedMs</c> is not 0, once its last data change
/// is more than that old; an empty TTL node once its last data change is more than its TTL old.
/// </summary>
public static class NodeReaping
{
    /// <summary>The largest TTL ZooKeeper accepts: 2^40 - 1 ms (about 34 years), what its encoding in ephemeralOwner holds.</summary>
    public const long MaxTtlMs = 0xFF_FFFF_FFFF;

    /// <summary>Whether <paramref name="ttlMs"/> fits <paramref name="mode"/>: in 1 .. <see cref="MaxTtlMs"/> for TTL modes, 0 for the others.</summary>
    public static bool ValidTtl(CreateMode mode, long ttlMs) => mode.IsTtl() ? ttlMs is > 0 and <= MaxTtlMs : ttlMs == 0;

    internal static bool Due(Node node, long nowMs, long maxNeverUsedMs) => node.ChildCount == 0 && node.Kind switch
    {
        NodeKind.Container => node.ChildVersion > 0 || (maxNeverUsedMs != 0 && nowMs - node.ModifiedTime > maxNeverUsedMs),
        NodeKind.Ttl => nowMs - node.ModifiedTime > node.TtlMs,
        _ => false,
    };
}
