using System.Buffers.Binary;
using System.Text;

namespace Mesh.Registry.ZooKeeper.Jute;

/// <summary>
/// Reads jute's binary encoding (big-endian ints and longs, one-byte booleans, length-prefixed
/// strings and buffers where -1 means null, count-prefixed vectors) from one frame. Every read
/// checks what is left of the frame, so a lying length fails with <see cref="JuteFormatException"/>
/// instead of reading past the end or allocating what the length claims.
/// </summary>
public ref struct JuteReader(ReadOnlySpan<byte> frame)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _frame = frame;
    private int _position;

    public readonly int Position => _position;

    public readonly int Remaining => _frame.Length - _position;

    public readonly bool AtEnd => _position == _frame.Length;

    public int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4, "int"));

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8, "long"));

    public bool ReadBool() => Take(1, "boolean")[0] != 0;

    /// <summary>A buffer; null for length -1.</summary>
    public byte[]? ReadBuffer()
    {
        var length = ReadLength("buffer");
        return length < 0 ? null : Take(length, "buffer").ToArray();
    }

    /// <summary>A UTF-8 string; null for length -1.</summary>
    public string? ReadString()
    {
        var length = ReadLength("string");
        if (length < 0)
            return null;
        var bytes = Take(length, "string");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new JuteFormatException($"a string at byte {_position - length} is not valid UTF-8");
        }
    }

    /// <summary>A vector of strings; null for count -1. Null elements stay null.</summary>
    public List<string?>? ReadStringVector()
    {
        var count = ReadCount("vector<ustring>", 4);
        if (count < 0)
            return null;
        var list = new List<string?>(count);
        for (var i = 0; i < count; i++)
            list.Add(ReadString());
        return list;
    }

    /// <summary>Throws unless the whole frame was read (a record followed by junk is malformed).</summary>
    public readonly void EnsureEnd(string record)
    {
        if (!AtEnd)
            throw new JuteFormatException($"{Remaining} bytes left over after {record}");
    }

    /// <summary>A vector count; every element takes at least <paramref name="minElementBytes"/>, so a count larger than the rest of the frame is refused before allocating.</summary>
    public int ReadCount(string what, int minElementBytes)
    {
        var count = ReadInt();
        if (count < -1)
            throw new JuteFormatException($"{what} at byte {_position - 4} has count {count}");
        if (count > 0 && (long)count * minElementBytes > Remaining)
            throw new JuteFormatException($"{what} at byte {_position - 4} claims {count} elements but only {Remaining} bytes follow");
        return count;
    }

    private int ReadLength(string what)
    {
        var length = ReadInt();
        if (length < -1)
            throw new JuteFormatException($"{what} at byte {_position - 4} has length {length}");
        return length;
    }

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > Remaining)
            throw new JuteFormatException($"the frame ends inside a {what} at byte {_position} ({count} bytes needed, {Remaining} left)");
        var span = _frame.Slice(_position, count);
        _position += count;
        return span;
    }
}
