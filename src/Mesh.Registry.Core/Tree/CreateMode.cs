namespace Mesh.Registry.Core.Tree;

/// <summary>How a node is created. Stored in commands: never renumber.</summary>
public enum CreateMode : byte
{
    Persistent = 0,

    /// <summary>Deleted when its session closes or expires; cannot have children.</summary>
    Ephemeral = 1,

    /// <summary>The name gets a 10-digit suffix from the parent's child counter.</summary>
    Sequential = 2,

    EphemeralSequential = 3,
}

public static class CreateModeExtensions
{
    public static bool IsEphemeral(this CreateMode mode) => mode is CreateMode.Ephemeral or CreateMode.EphemeralSequential;

    public static bool IsSequential(this CreateMode mode) => mode is CreateMode.Sequential or CreateMode.EphemeralSequential;
}
