using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Wire;

/// <summary>
/// Node data as commands and snapshots both store it: a varint length, then the bytes. In the
/// formats that keep null data (<see cref="NodeData.Null"/>) the length is stored plus one, 0
/// meaning null. One rule for both, so they cannot drift apart.
/// </summary>
internal static class StoredData
{
    public static ulong Prefix(ReadOnlyMemory<byte> data, bool nullable) =>
        !nullable ? (ulong)data.Length : NodeData.IsNull(data) ? 0 : (ulong)data.Length + 1;

    public static bool IsNull(ulong prefix, bool nullable) => nullable && prefix == 0;

    /// <summary>The byte count behind a prefix that is not null.</summary>
    public static ulong Length(ulong prefix, bool nullable) => nullable ? prefix - 1 : prefix;
}
