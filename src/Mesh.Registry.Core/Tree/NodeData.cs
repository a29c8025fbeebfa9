using System.Runtime.InteropServices;

namespace Mesh.Registry.Core.Tree;

/// <summary>
/// Null node data, which ZooKeeper keeps apart from empty data (a client that creates or sets a node
/// with no data reads back null, not an empty array). It is one particular empty memory, so it flows
/// through commands, nodes, undo entries and reads unchanged, and reads as empty to everything that
/// does not ask (the HTTP API, quotas, lengths). Only the command and snapshot formats spell it out.
/// </summary>
public static class NodeData
{
    // An empty slice of a private array: no other memory shares it, so the reference tells null apart.
    private static readonly byte[] Marker = new byte[1];

    public static ReadOnlyMemory<byte> Null { get; } = new(Marker, 0, 0);

    public static bool IsNull(ReadOnlyMemory<byte> data) =>
        data.IsEmpty && MemoryMarshal.TryGetArray(data, out var segment) && ReferenceEquals(segment.Array, Marker);

    /// <summary><paramref name="data"/>, or <see cref="Null"/> for null.</summary>
    public static ReadOnlyMemory<byte> From(byte[]? data) => data is null ? Null : data;
}
