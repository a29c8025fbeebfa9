namespace Mesh.Registry.Core.Tree;

/// <summary>
/// What a node is beyond ephemeral or persistent: a node the leader's reaper may delete
/// (<see cref="NodeReaping"/>). Stored in snapshots: never renumber.
/// </summary>
public enum NodeKind : byte
{
    /// <summary>Lives until deleted (or, when ephemeral, until its session ends).</summary>
    Plain = 0,

    /// <summary>Reaped once it has had a child and has none left.</summary>
    Container = 1,

    /// <summary>Reaped once it has no children and its last data change is older than its TTL.</summary>
    Ttl = 2,
}
