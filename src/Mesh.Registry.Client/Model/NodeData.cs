using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>A node's data and stat, read at registry index <see cref="Index"/>.</summary>
public sealed record NodeData(string Path, byte[] Data, NodeStat Stat, long Index);

/// <summary>A node's child names (sorted) and stat, read at registry index <see cref="Index"/>.</summary>
public sealed record NodeChildren(string Path, IReadOnlyList<string> Children, NodeStat Stat, long Index);

/// <summary>The result of a write: the path written (with its sequence suffix for sequential creates).</summary>
public sealed record WriteResult(string Path, NodeStat? Stat, long Index);

/// <summary>How a node is created: persistent or bound to a session, with or without a sequence suffix.</summary>
public enum CreateMode
{
    Persistent,
    Ephemeral,
    Sequential,
    EphemeralSequential,
}

internal static class CreateModeNames
{
    public static string ToWire(this CreateMode mode) => mode switch
    {
        CreateMode.Persistent => "persistent",
        CreateMode.Ephemeral => "ephemeral",
        CreateMode.Sequential => "sequential",
        CreateMode.EphemeralSequential => "ephemeral_sequential",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    public static bool IsEphemeral(this CreateMode mode) =>
        mode is CreateMode.Ephemeral or CreateMode.EphemeralSequential;
}
