using System.Buffers;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Consensus;

internal sealed partial class RaftConsensus
{
    /// <summary>
    /// Bridges DotNext's <see cref="SimpleStateMachine"/> (applier loop, snapshot files named
    /// <c>index-term</c>) to our <see cref="IReplicatedStateMachine"/>.
    /// </summary>
    private sealed class SnapshottingStateMachine(
        DirectoryInfo location, IReplicatedStateMachine target, long snapshotEvery, ILogger logger)
        : SimpleStateMachine(location)
    {
        private long _lastSnapshotIndex;

        protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
        {
            if (entry.IsConfiguration || !entry.TryGetPayload(out var payload) || payload.IsEmpty)
            {
                target.ApplyNoOp(entry.Index);
            }
            else
            {
                ReadOnlyMemory<byte> frame = payload.IsSingleSegment ? payload.First : payload.ToArray();
                if (!CommandFrame.TryUnwrap(frame, out var command))
                {
                    Log.CorruptEntry(logger, entry.Index);
                    throw new InvalidDataException($"Log entry {entry.Index} failed its checksum.");
                }
                object? result;
                try
                {
                    result = target.Apply(entry.Index, command);
                }
                catch (Exception e)
                {
                    (entry.Context as TaskCompletionSource<object?>)?.TrySetException(e);
                    throw;
                }
                // Only the node that proposed the entry (and only before a restart) has a context.
                (entry.Context as TaskCompletionSource<object?>)?.TrySetResult(result);
            }
            if (entry.Index - _lastSnapshotIndex < snapshotEvery)
                return new(false);
            _lastSnapshotIndex = entry.Index;
            return new(true);
        }

        protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
        {
            // The next ApplyAsync waits for this to finish, so the state is not moving underneath.
            using var buffer = new MemoryStream();
            target.WriteSnapshot(buffer);
            return writer.Invoke(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), token);
        }

        protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
        {
            var index = DotNextWorkarounds.SnapshotIndex(snapshotFile);
            var stream = snapshotFile.OpenRead();
            await using (stream.ConfigureAwait(false))
            {
                target.ReadSnapshot(stream, index);
            }
            _lastSnapshotIndex = index;
        }
    }
}
