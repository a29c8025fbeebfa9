namespace Mesh.Registry.Core.Tree;

/// <summary>How a node is created. Stored in commands: never renumber. The numbers are ZooKeeper's create flags.</summary>
public enum CreateMode : byte
{
    Persistent = 0,

    /// <summary>Deleted when its session closes or expires; cannot have children.</summary>
    Ephemeral = 1,

    /// <summary>The name gets a 10-digit suffix from the parent's child counter.</summary>
    Sequential = 2,

    EphemeralSequential = 3,

    /// <summary>A persistent node the leader's reaper deletes once it has had a child and has none left (ZooKeeper's container).</summary>
    Container = 4,

    /// <summary>A persistent node the reaper deletes once it has no children and its last data change is older than its TTL.</summary>
    PersistentWithTtl = 5,

    PersistentSequentialWithTtl = 6,
}

public static class CreateModeExtensions
{
    public static bool IsEphemeral(this CreateMode mode) => mode is CreateMode.Ephemeral or CreateMode.EphemeralSequential;

    public static bool IsSequential(this CreateMode mode) =>
        mode is CreateMode.Sequential or CreateMode.EphemeralSequential or CreateMode.PersistentSequentialWithTtl;

    public static bool IsTtl(this CreateMode mode) => mode is CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl;

    /// <summary>The modes only format 6 of commands holds (container and TTL).</summary>
    public static bool IsExtended(this CreateMode mode) => mode >= CreateMode.Container;

    public static NodeKind Kind(this CreateMode mode) => mode switch
    {
        CreateMode.Container => NodeKind.Container,
        CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl => NodeKind.Ttl,
        _ => NodeKind.Plain,
    };
}
