using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The last commit index this node applied, written after each apply batch and never synced.
/// Raft does not need it (a restarted node learns the commit index from the leader); it only lets
/// a restarted node replay what it knows is committed at once instead of waiting for a leader,
/// and it tells recovery which entries were committed, hence synced, so a damaged one among them
/// is damage to report rather than a torn tail to cut. A stale value is only a lower bound.
/// </summary>
internal sealed class CommitMarker : IDisposable
{
    private const int Size = 12;
    private readonly SafeFileHandle _handle;

    public CommitMarker(string path)
    {
        _handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
    }

    public long Read()
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (RandomAccess.Read(_handle, bytes, 0) != Size || BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]) != Crc32.HashToUInt32(bytes[..8]))
            return 0;
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    public void Write(long index)
    {
        Span<byte> bytes = stackalloc byte[Size];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], Crc32.HashToUInt32(bytes[..8]));
        RandomAccess.Write(_handle, bytes, 0);
    }

    public void Dispose() => _handle.Dispose();
}
