using System.Buffers.Binary;
using System.Text;

namespace Mesh.Registry.Core.Snapshots;

/// <summary>Buffered little-endian/varint writer that checksums everything it writes.</summary>
internal sealed class SnapshotWriter(Stream stream)
{
    private const int BufferSize = 1 << 16;

    private readonly Stream _stream = stream;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _used;
    private uint _crc = Crc32C.Initial;

    public void Raw(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            if (_used == BufferSize)
            {
                Flush();
            }

            var n = Math.Min(bytes.Length, BufferSize - _used);
            bytes[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            bytes = bytes[n..];
        }
    }

    public void Byte(byte value)
    {
        Ensure(1);
        _buffer[_used++] = value;
    }

    public void Fixed64(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_used), value);
        _used += 8;
    }

    public void Varint(ulong value)
    {
        Ensure(Wire.Varint.MaxLength);
        _used += Wire.Varint.Write(_buffer.AsSpan(_used), value);
    }

    public void Signed(long value) => Varint(Wire.Varint.ZigZag(value));

    public void Guid(Guid value)
    {
        Ensure(16);
        value.TryWriteBytes(_buffer.AsSpan(_used));
        _used += 16;
    }

    /// <summary>Node data (<see cref="Wire.StoredData"/>).</summary>
    public void Data(ReadOnlyMemory<byte> data, bool nullable)
    {
        Varint(Wire.StoredData.Prefix(data, nullable));
        Raw(data.Span);
    }

    // Strings in the state are valid UTF-16 except echoed paths of rejected requests; those are
    // stored with replacement characters, which keeps snapshots deterministic.
    public void String(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Varint((ulong)length);
        if (length <= BufferSize)
        {
            Ensure(length);
            _used += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_used));
        }
        else
        {
            Raw(Encoding.UTF8.GetBytes(value));
        }
    }

    /// <summary>Writes the checksum of everything so far and flushes.</summary>
    public void Finish(ReadOnlySpan<byte> endMagic)
    {
        _crc = Crc32C.Append(_crc, _buffer.AsSpan(0, _used));
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_used), Crc32C.Finish(_crc));
        _used += 4;
        _stream.Write(_buffer, 0, _used);
        _used = 0;
        _stream.Write(endMagic);
        _stream.Flush();
    }

    private void Ensure(int bytes)
    {
        if (BufferSize - _used < bytes)
        {
            Flush();
        }
    }

    private void Flush()
    {
        _crc = Crc32C.Append(_crc, _buffer.AsSpan(0, _used));
        _stream.Write(_buffer, 0, _used);
        _used = 0;
    }
}
