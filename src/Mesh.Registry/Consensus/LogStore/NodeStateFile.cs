using System.Buffers.Binary;
using System.IO.Hashing;
using DotNext.Net.Cluster;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The current term and the vote cast in it, in one small file replaced atomically (temp file,
/// fsync, rename, fsync of the directory) before the change is answered: a node that forgot a
/// vote after a crash could vote twice in one term and elect two leaders.
/// <code>[i64 term][u8 has vote][member id][u32 crc32 of the bytes before]</code>
/// </summary>
internal sealed class NodeStateFile(string path)
{
    private static readonly int IdSize = ClusterMemberId.Size;
    private static readonly int Size = 8 + 1 + IdSize + 4;

    public NodeState Load()
    {
        if (!File.Exists(path))
            return new NodeState(0, null);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(Size - 4)) != Crc32.HashToUInt32(bytes.AsSpan(0, Size - 4)))
            throw new InvalidDataException($"the term and vote file {path} is damaged; it is replaced atomically, so this is disk damage: move the data directory aside and let the node re-sync from the leader");
        var term = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        ClusterMemberId? vote = bytes[8] != 0 ? new ClusterMemberId(bytes.AsSpan(9, IdSize)) : null;
        return new NodeState(term, vote);
    }

    public void Save(NodeState state)
    {
        Span<byte> bytes = stackalloc byte[Size];
        bytes.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(bytes, state.Term);
        if (state.Vote is { } vote)
        {
            bytes[8] = 1;
            vote.Format(bytes.Slice(9, IdSize));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[(Size - 4)..], Crc32.HashToUInt32(bytes[..(Size - 4)]));
        Durable.WriteAtomically(path, bytes);
    }
}

internal readonly record struct NodeState(long Term, ClusterMemberId? Vote);
