namespace Mesh.Registry.Consensus.LogStore;

internal sealed partial class MeshRaftLog
{
    private const int ApplyBatch = 256;

    /// <summary>
    /// Applies committed entries in order, one batch read under the lock and applied outside it,
    /// and takes a snapshot (then compacts the log, less the tail of <see cref="_snapshotKeep"/> entries) every
    /// <see cref="_snapshotEvery"/> entries.
    /// The proposer's <see cref="TaskCompletionSource{TResult}"/> (the entry's context, only on the
    /// node that proposed it and only before a restart) gets the result.
    /// </summary>
    private async Task ApplyLoopAsync(CancellationToken stopping)
    {
        while (true)
        {
            Task committed;
            lock (_gate)
                committed = _appliedIndex >= _commitIndex ? _committed.Task : Task.CompletedTask;
            await committed.WaitAsync(stopping).ConfigureAwait(false);
            await _applyLock.WaitAsync(stopping).ConfigureAwait(false);
            try
            {
                if (_applyFailure is not null)
                    return;
                ApplyCommitted();
            }
            finally
            {
                _applyLock.Release();
            }
        }
    }

    private void ApplyCommitted()
    {
        while (true)
        {
            var batch = new List<(long Index, StoredEntry Entry, object? Context)>(ApplyBatch);
            lock (_gate)
            {
                var last = Math.Min(_commitIndex, _appliedIndex + ApplyBatch);
                for (var i = _appliedIndex + 1; i <= last; i++)
                {
                    var held = _log.Find(i) ?? throw new InvalidOperationException($"committed entry {i} is not in the log");
                    _contexts.Remove(i, out var context);
                    batch.Add((i, new StoredEntry { Term = held.Term, Flags = held.Flags, Payload = _log.ReadPayload(i) }, context));
                }
            }
            if (batch.Count == 0)
                return;
            foreach (var (index, entry, context) in batch)
            {
                if (!Apply(index, entry, context as TaskCompletionSource<object?>))
                    return;
                Volatile.Write(ref _appliedIndex, index);
                if (index - _snapshotIndex >= _snapshotEvery)
                    TakeSnapshot(index, entry.Term);
            }
            _commitMarker.Write(batch[^1].Index);
            SignalApplied();
        }
    }

    private bool Apply(long index, StoredEntry entry, TaskCompletionSource<object?>? context)
    {
        if ((entry.Flags & EntryFlags.Configuration) != 0 || entry.Payload.IsEmpty)
        {
            _target.ApplyNoOp(index);
            return true;
        }
        if (!CommandFrame.TryUnwrap(entry.Payload, out var command))
        {
            Log.CorruptEntry(_logger, index);
            _applyFailure = new InvalidDataException($"Log entry {index} failed its checksum.");
            context?.TrySetException(_applyFailure);
            return false;
        }
        object? result;
        try
        {
            result = _target.Apply(index, command);
        }
        catch (Exception e)
        {
            // The state machine is deterministic: every replica fails here alike. Going on would
            // make this node's state differ from what it reports as applied.
            Log.ApplyFailed(_logger, index, e);
            _applyFailure = e;
            context?.TrySetException(e);
            return false;
        }
        // Not folded into one null-conditional call: that would skip Apply itself without a proposer.
        context?.TrySetResult(result);
        return true;
    }

    private void TakeSnapshot(long index, long term)
    {
        using var buffer = new MemoryStream();
        _target.WriteSnapshot(buffer);
        _snapshots.Write(index, term, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        long firstKept;
        lock (_gate)
        {
            _snapshotTerm = term;
            Volatile.Write(ref _snapshotIndex, index);
            // The tail stays: a follower a few entries behind gets them, not the whole state.
            _log.Compact(index - _snapshotKeep);
            firstKept = _log.FirstIndex;
        }
        Log.SnapshotTaken(_logger, index, firstKept);
    }
}
