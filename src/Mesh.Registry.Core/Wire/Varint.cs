using System.Buffers;

namespace Mesh.Registry.Core.Wire;

/// <summary>
/// The one LEB128 varint (7 bits a byte, low first, as protobuf writes them) and its zigzag form
/// for signed values: the command codec and the snapshot files use it, and so do the tests that
/// read OTLP protobuf. Public so that those tests need no copy of their own.
/// </summary>
public static class Varint
{
    /// <summary>The longest varint of a 64-bit value.</summary>
    public const int MaxLength = 10;

    /// <summary>Writes <paramref name="value"/> (needs up to <see cref="MaxLength"/> bytes); returns how many bytes it took.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            destination[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[n++] = (byte)value;
        return n;
    }

    /// <summary>
    /// Reads the varint at the start of <paramref name="source"/>: <see cref="OperationStatus.Done"/>
    /// with its value and length, <see cref="OperationStatus.NeedMoreData"/> when the source ends
    /// inside it, or <see cref="OperationStatus.InvalidData"/> when it is longer than 64 bits.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ulong value, out int length)
    {
        value = 0;
        length = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (length == source.Length)
                return OperationStatus.NeedMoreData;
            var b = source[length++];
            if (shift == 63 && b > 1)
                break;
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return OperationStatus.Done;
        }

        value = 0;
        return OperationStatus.InvalidData;
    }

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
