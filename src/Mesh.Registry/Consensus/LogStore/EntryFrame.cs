using System.Buffers.Binary;
using System.IO.Hashing;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// One log entry on disk: a 32-byte header then the payload.
/// <code>
/// [u32 payload length][u32 crc32 of bytes 8.. and the payload][i64 index][i64 term][u32 flags][u32 magic]
/// </code>
/// Segments are preallocated with zeros, so the first header that is all zeros ends the log; a
/// header or payload that fails its checksum is a torn write (or damage) and ends it too.
/// </summary>
internal static class EntryFrame
{
    public const int HeaderSize = 32;

    /// <summary>"MESH": a header of zeros or of a foreign file never looks valid.</summary>
    private const uint Magic = 0x4853454D;

    public static int SizeOf(int payloadLength) => HeaderSize + payloadLength;

    public static void Write(Span<byte> destination, long index, long term, EntryFlags flags, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], index);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], term);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], Magic);
        payload.CopyTo(destination[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Checksum(destination[8..HeaderSize], payload));
    }

    /// <summary>Reads the frame at the start of <paramref name="data"/> (the rest of a segment).</summary>
    public static FrameStatus TryRead(ReadOnlySpan<byte> data, out FrameHeader header)
    {
        header = default;
        if (data.Length < HeaderSize)
            return data.IndexOfAnyExcept((byte)0) < 0 ? FrameStatus.End : FrameStatus.Corrupt;
        var head = data[..HeaderSize];
        if (head.IndexOfAnyExcept((byte)0) < 0)
            return FrameStatus.End;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[28..]) != Magic || length > (uint)(data.Length - HeaderSize))
            return FrameStatus.Corrupt;
        var payload = data.Slice(HeaderSize, (int)length);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[4..]) != Checksum(head[8..], payload))
            return FrameStatus.Corrupt;
        header = new FrameHeader(
            BinaryPrimitives.ReadInt64LittleEndian(head[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(head[16..]),
            (EntryFlags)BinaryPrimitives.ReadUInt32LittleEndian(head[24..]),
            (int)length);
        return FrameStatus.Valid;
    }

    private static uint Checksum(ReadOnlySpan<byte> headerTail, ReadOnlySpan<byte> payload)
    {
        var crc = new Crc32();
        crc.Append(headerTail);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }
}

[Flags]
internal enum EntryFlags : uint
{
    None = 0,

    /// <summary>A cluster-membership entry (DotNext's <c>IsConfiguration</c>); applied as a no-op.</summary>
    Configuration = 1,
}

internal enum FrameStatus
{
    Valid,

    /// <summary>Zeros: nothing was ever written here.</summary>
    End,

    /// <summary>Bytes that are not a whole, intact frame: a torn write or damage.</summary>
    Corrupt,
}

internal readonly record struct FrameHeader(long Index, long Term, EntryFlags Flags, int PayloadLength)
{
    public int FrameSize => EntryFrame.SizeOf(PayloadLength);
}
