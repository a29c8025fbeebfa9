using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper.Watches;

/// <summary>
/// The per-session watch cap, checked before a request runs: ZooKeeper keeps no limit, but each
/// watch is memory on this node held for as long as the session lives, set by a client that may
/// not have authenticated. A request is refused when the watches it could add (one per path it
/// names, whether or not one is set there already) would take the session past the limit.
/// </summary>
public static class ZkWatchLimit
{
    /// <summary>True when <paramref name="request"/> could take <paramref name="watches"/> past <paramref name="max"/>.</summary>
    public static bool Exceeds(ZkWatchTable watches, ZkRequest request, int max) =>
        watches.Count + Adds(request) > max;

    private static long Adds(ZkRequest request) => request.Body switch
    {
        PathWatchRequest { Watch: true } when request.Op is OpCode.Exists or OpCode.GetData or OpCode.GetChildren or OpCode.GetChildren2 => 1,
        AddWatchRequest => 1,
        SetWatchesRequest set => (long)set.DataWatches.Count + set.ExistWatches.Count + set.ChildWatches.Count
            + set.PersistentWatches.Count + set.PersistentRecursiveWatches.Count,
        _ => 0,
    };
}
