namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// Group commit: one disk sync covers every entry written before it started. A caller that needs
/// index N durable waits; if no sync is running one starts for everything written so far, and
/// whatever is written while it runs goes in the next one. A failed sync fails the log for good
/// (after a failed fsync the kernel may have dropped the dirty pages, so a retry that succeeds
/// proves nothing): every waiter then and later gets the failure.
/// </summary>
/// <param name="sync">Syncs everything written so far; returns the highest index now durable.</param>
/// <param name="durableIndex">The highest index durable now (lowered by the log when it cuts its tail).</param>
internal sealed class GroupCommit(Func<long> sync, Func<long> durableIndex)
{
    private readonly Lock _gate = new();
    private readonly List<(long Index, TaskCompletionSource Done)> _waiters = [];
    private bool _running;
    private Exception? _failure;
    private long _syncs;

    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>How many syncs ran (for the commit-path measurements).</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>The log was cut below some waiters' entries: they will never be written, so they fail.</summary>
    public void AbandonAbove(long index)
    {
        lock (_gate)
        {
            _waiters.RemoveAll(w =>
            {
                if (w.Index <= index)
                    return false;
                w.Done.TrySetException(new InvalidOperationException($"log entry {w.Index} was removed before it was synced (a new leader replaced it)"));
                return true;
            });
        }
    }

    /// <summary>
    /// Completes once <paramref name="index"/> is durable. With <paramref name="onThisThread"/> a
    /// caller that finds no sync running runs it itself and returns when it is done (a follower,
    /// which answers the leader only then anyway, saves a thread hop per append); otherwise the sync
    /// runs on the thread pool (the leader starts its sync and replicates meanwhile).
    /// </summary>
    public Task WaitAsync(long index, bool onThisThread = false)
    {
        Task result;
        lock (_gate)
        {
            if (_failure is { } failure)
                return Task.FromException(new IOException("the raft log failed to sync earlier; restart the node", failure));
            if (index <= durableIndex())
                return Task.CompletedTask;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((index, done));
            result = done.Task;
            if (_running)
                return result;
            _running = true;
        }
        if (onThisThread)
            Run();
        else
            _ = Task.Run(Run);
        return result;
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_waiters.Count == 0)
                {
                    _running = false;
                    return;
                }
            }
            long durable;
            try
            {
                durable = sync();
                Interlocked.Increment(ref _syncs);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _failure = e;
                    foreach (var (_, done) in _waiters)
                        done.TrySetException(new IOException("the raft log failed to sync; restart the node", e));
                    _waiters.Clear();
                    _running = false;
                }
                return;
            }
            lock (_gate)
            {
                _waiters.RemoveAll(w =>
                {
                    if (w.Index > durable)
                        return false;
                    w.Done.TrySetResult();
                    return true;
                });
            }
        }
    }
}
