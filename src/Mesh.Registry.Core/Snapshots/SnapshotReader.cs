using System.Buffers.Binary;
using System.Text;

namespace Mesh.Registry.Core.Snapshots;

/// <summary>
/// Buffered reader matching <see cref="SnapshotWriter"/>: checksums what it consumes, reports
/// truncation with the byte offset, and bounds every length so corrupted input cannot make it
/// allocate much before the checksum is compared.
/// </summary>
internal sealed class SnapshotReader(Stream stream)
{
    private const int BufferSize = 1 << 16;

    private readonly Stream _stream = stream;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _pos;
    private int _end;
    private int _crcPos;
    private long _consumedBefore;
    private uint _crc = Crc32C.Initial;

    public long Offset => _consumedBefore + _pos;

    public byte Byte()
    {
        Ensure(1);
        return _buffer[_pos++];
    }

    public long Fixed64()
    {
        Ensure(8);
        var value = BinaryPrimitives.ReadInt64LittleEndian(_buffer.AsSpan(_pos));
        _pos += 8;
        return value;
    }

    public ulong Varint()
    {
        var at = Offset;
        // Buffer one more byte until the varint is whole: Ensure reports a truncated file.
        for (var buffered = 1; ; buffered = _end - _pos + 1)
        {
            Ensure(buffered);
            switch (Wire.Varint.TryRead(_buffer.AsSpan(_pos, _end - _pos), out var value, out var length))
            {
                case System.Buffers.OperationStatus.Done:
                    _pos += length;
                    return value;
                case System.Buffers.OperationStatus.InvalidData:
                    throw Corrupt($"varint at byte {at} is longer than 64 bits");
            }
        }
    }

    public long Signed() => Wire.Varint.UnZigZag(Varint());

    public int Count(long max, string what)
    {
        var at = Offset;
        var value = Varint();
        if (value > (ulong)max)
        {
            throw Corrupt($"{what} {value} at byte {at} is over the limit {max}");
        }

        return (int)value;
    }

    public Guid Guid()
    {
        Ensure(16);
        var value = new Guid(_buffer.AsSpan(_pos, 16));
        _pos += 16;
        return value;
    }

    /// <summary>Node data (<see cref="Wire.StoredData"/>).</summary>
    public ReadOnlyMemory<byte> Data(int maxLength, bool nullable)
    {
        var prefix = (ulong)Count(nullable ? (long)maxLength + 1 : maxLength, "data length");
        if (Wire.StoredData.IsNull(prefix, nullable))
        {
            return Tree.NodeData.Null;
        }

        var length = (int)Wire.StoredData.Length(prefix, nullable);
        return length == 0 ? Array.Empty<byte>() : BytesOfLength(length);
    }

    public string String(int maxBytes)
    {
        var length = Count(maxBytes, "string length");
        if (length <= BufferSize)
        {
            Ensure(length);
            var value = Encoding.UTF8.GetString(_buffer, _pos, length);
            _pos += length;
            return value;
        }

        return Encoding.UTF8.GetString(BytesOfLength(length));
    }

    public void Magic(ReadOnlySpan<byte> expected, string what)
    {
        var at = Offset;
        Ensure(expected.Length);
        if (!_buffer.AsSpan(_pos, expected.Length).SequenceEqual(expected))
        {
            throw new SnapshotFormatException($"{what} at byte {at}: not a Mesh registry snapshot, or corrupted");
        }

        _pos += expected.Length;
    }

    /// <summary>Reads the stored checksum and compares it with the one of everything before it.</summary>
    public void VerifyChecksum()
    {
        var at = Offset;
        var computed = Crc32C.Finish(Crc32C.Append(_crc, _buffer.AsSpan(_crcPos, _pos - _crcPos)));
        Ensure(4);
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_pos));
        _pos += 4;
        _crcPos = _pos;
        if (stored != computed)
        {
            throw new SnapshotFormatException(
                $"snapshot checksum mismatch at byte {at}: stored 0x{stored:x8}, computed 0x{computed:x8}; the snapshot is corrupted");
        }
    }

    public bool AtEndOfStream()
    {
        if (_pos < _end)
        {
            return false;
        }

        return _stream.Read(_buffer, 0, 1) == 0;
    }

    public SnapshotFormatException Corrupt(string message) =>
        new($"snapshot is corrupted: {message}");

    private byte[] BytesOfLength(int length)
    {
        var bytes = new byte[length];
        var copied = 0;
        while (copied < length)
        {
            Ensure(1);
            var n = Math.Min(length - copied, _end - _pos);
            _buffer.AsSpan(_pos, n).CopyTo(bytes.AsSpan(copied));
            _pos += n;
            copied += n;
        }

        return bytes;
    }

    private void Ensure(int bytes)
    {
        if (_end - _pos >= bytes)
        {
            return;
        }

        // Checksum what was consumed, keep the unread tail, refill.
        _crc = Crc32C.Append(_crc, _buffer.AsSpan(_crcPos, _pos - _crcPos));
        var left = _end - _pos;
        _buffer.AsSpan(_pos, left).CopyTo(_buffer);
        _consumedBefore += _pos;
        _pos = 0;
        _crcPos = 0;
        _end = left;
        while (_end < bytes)
        {
            var n = _stream.Read(_buffer, _end, BufferSize - _end);
            if (n == 0)
            {
                throw new SnapshotFormatException(
                    $"snapshot is truncated: it ends after {_consumedBefore + _end} bytes, in the middle of a value at byte {Offset}");
            }

            _end += n;
        }
    }
}
