using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>An entry read from the log (or the snapshot standing for the compacted prefix), handed to DotNext for replication.</summary>
internal readonly struct StoredEntry : IRaftLogEntry
{
    public required long Term { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }

    public EntryFlags Flags { get; init; }

    public bool IsSnapshot { get; init; }

    bool IRaftLogEntry.IsConfiguration => (Flags & EntryFlags.Configuration) != 0;

    bool IDataTransferObject.IsReusable => true;

    long? IDataTransferObject.Length => Payload.Length;

    bool IDataTransferObject.TryGetMemory(out ReadOnlyMemory<byte> memory)
    {
        memory = Payload;
        return true;
    }

    ValueTask IDataTransferObject.WriteToAsync<TWriter>(TWriter writer, CancellationToken token) =>
        writer.Invoke(Payload, token);
}
