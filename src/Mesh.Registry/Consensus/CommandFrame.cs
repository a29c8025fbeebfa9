using System.Buffers.Binary;
using System.IO.Hashing;

namespace Mesh.Registry.Consensus;

/// <summary>
/// Frames every log entry as <c>[u32 length][u32 crc32(payload)][payload]</c>. The WAL has its own
/// checksum, but dotNext issue #292 (entries straddling a chunk boundary read back wrong) showed
/// that a mis-framed read can reach the state machine; this check turns that into a loud stop
/// instead of silently diverging replicas.
/// </summary>
internal static class CommandFrame
{
    public const int HeaderSize = 8;

    public static byte[] Wrap(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), Crc32.HashToUInt32(payload));
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    public static bool TryUnwrap(ReadOnlyMemory<byte> frame, out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        var span = frame.Span;
        if (span.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(span) != (uint)(span.Length - HeaderSize))
            return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(span[4..]) != Crc32.HashToUInt32(span[HeaderSize..]))
            return false;
        payload = frame[HeaderSize..];
        return true;
    }
}
