using System.Buffers.Binary;
using System.Numerics;

namespace Mesh.Registry.Core.Snapshots;

/// <summary>CRC-32C (Castagnoli) over the hardware instruction where there is one.</summary>
internal static class Crc32C
{
    public const uint Initial = uint.MaxValue;

    public static uint Append(uint crc, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            bytes = bytes[8..];
        }

        foreach (var b in bytes)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    public static uint Finish(uint crc) => ~crc;
}
