using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Mesh.Registry.ZooKeeper.Jute;

/// <summary>
/// Writes jute's binary encoding into a growing buffer. <see cref="ToFrame"/> prefixes the
/// 4-byte length, which is how every packet travels on the wire in both directions.
/// </summary>
public sealed class JuteWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public JuteWriter()
    {
        // Room for the frame length, filled in by ToFrame.
        _buffer.Advance(4);
    }

    /// <summary>Bytes written so far, the length prefix excluded.</summary>
    public int Length => _buffer.WrittenCount - 4;

    public JuteWriter Int(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public JuteWriter Long(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public JuteWriter Bool(bool value)
    {
        _buffer.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        _buffer.Advance(1);
        return this;
    }

    public JuteWriter Buffer(ReadOnlySpan<byte> value)
    {
        Int(value.Length);
        _buffer.Write(value);
        return this;
    }

    /// <summary>Null is written as length -1.</summary>
    public JuteWriter Buffer(byte[]? value) => value is null ? Int(-1) : Buffer(value.AsSpan());

    /// <summary>Null is written as length -1.</summary>
    public JuteWriter String(string? value)
    {
        if (value is null)
            return Int(-1);
        var length = Encoding.UTF8.GetByteCount(value);
        Int(length);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
        return this;
    }

    /// <summary>Null is written as count -1.</summary>
    public JuteWriter StringVector(IReadOnlyCollection<string?>? values)
    {
        if (values is null)
            return Int(-1);
        Int(values.Count);
        foreach (var value in values)
            String(value);
        return this;
    }

    /// <summary>The record bytes without the length prefix.</summary>
    public byte[] ToRecord() => _buffer.WrittenSpan[4..].ToArray();

    /// <summary>The length-prefixed packet, ready for the socket.</summary>
    public byte[] ToFrame()
    {
        var frame = _buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        return frame;
    }
}
