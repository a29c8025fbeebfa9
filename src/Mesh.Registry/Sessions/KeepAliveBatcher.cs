using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Storage;
using Mesh.Registry.ZooKeeper.Forwarding;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Sessions;

/// <summary>
/// Makes session renewal cheap: every keep-alive this node serves (HTTP keep-alives, ZooKeeper
/// sessions connected here) joins the open batch, and one <see cref="KeepAliveMany"/> per
/// <see cref="Interval"/> renews them all, proposed here on the leader and forwarded to it from a
/// follower. Deadlines stay replicated (the leader's command time + TTL, identical on every
/// replica), so expiry remains one deterministic <see cref="ExpireSessions"/> and a new leader
/// knows every deadline; the log carries a few entries per second per node whatever the number of
/// sessions, instead of one per keep-alive. A renewal completes when its batch is applied on this
/// node and says whether the session is still alive there; a batch that fails fails its renewals
/// with the write's own exception (nothing proposed, or outcome unknown), as a single write would.
/// </summary>
internal sealed partial class KeepAliveBatcher(ZkLeaderClient leader, IConsensus consensus, RegistryStore store, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    /// <summary>
    /// How long a batch gathers before it is proposed: a tenth of the shortest session TTL
    /// (<see cref="Core.Sessions.SessionLimits.MinTtlMs"/>, 1 s), so a renewal's delay is small
    /// beside any TTL, and at most 10 entries a second per node.
    /// </summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long one batch may take to be written before its renewals are answered "outcome
    /// unknown" (the callers try again). Batches are written side by side, never one behind the
    /// other: a batch forwarded to a leader that has just died may wait for its answer until the
    /// request timeout, and the batches after it must reach the new leader meanwhile, or every
    /// session renewed through this node would expire under it. The deadline bounds how many are in
    /// flight (<see cref="BatchDeadline"/> / <see cref="Interval"/>).
    /// </summary>
    public static readonly TimeSpan BatchDeadline = TimeSpan.FromSeconds(2);

    // Cancelled (and replaced) whenever the leader changes: a batch in flight to the old one is
    // sent again to the new one at once, within its deadline (renewing twice is renewing).
    private CancellationTokenSource _leaderTerm = new();

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _opened = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _writing = [];
    private Batch? _open;
    private Task? _loop;
    private int _disposed;

    public void Start()
    {
        consensus.LeaderChanged += OnLeaderChanged;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    private void OnLeaderChanged(int? leaderId)
    {
        CancellationTokenSource old;
        lock (_gate)
        {
            old = _leaderTerm;
            _leaderTerm = new CancellationTokenSource();
        }
        // Not disposed: a batch may be linking to its token right now (a leader change is rare).
        old.Cancel();
    }

    private CancellationToken LeaderTerm()
    {
        lock (_gate)
            return _leaderTerm.Token;
    }

    /// <summary>
    /// Renews <paramref name="sessionId"/> with the next batch. The session as this node's applied
    /// state has it once the batch is applied, or null when it has expired or was closed. Throws
    /// <see cref="NotLeaderException"/>, <see cref="OutcomeUnknownException"/> or
    /// <see cref="QuorumUnavailableException"/> when the batch could not be written.
    /// </summary>
    public async Task<SessionInfo?> RenewAsync(long sessionId, CancellationToken cancellationToken)
    {
        Task applied;
        lock (_gate)
        {
            if (_disposed != 0)
                throw new NotLeaderException(null); // stopping: as when no leader takes the write
            if (_open is null)
            {
                _open = new Batch();
                _opened.Release();
            }
            _open.Ids.Add(sessionId);
            applied = _open.Applied.Task;
        }
        try
        {
            await applied.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotLeaderException(null); // the node stopped before the batch was written
        }
        return store.Read(s => s.TryGetSession(sessionId, out var session) ? session : (SessionInfo?)null);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await _opened.WaitAsync(stop).ConfigureAwait(false);
                await Task.Delay(Interval, time, stop).ConfigureAwait(false);
                Batch batch;
                lock (_gate)
                {
                    batch = _open!;
                    _open = null;
                }
                var writing = WriteAsync(batch, stop);
                lock (_gate)
                {
                    _writing.RemoveAll(t => t.IsCompleted);
                    _writing.Add(writing);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            lock (_gate)
                _open?.Applied.TrySetCanceled(stop);
        }
    }

    private async Task WriteAsync(Batch batch, CancellationToken stop)
    {
        var ids = batch.Ids.Order().ToArray();
        using var expiry = new CancellationTokenSource(BatchDeadline, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop, expiry.Token);
        try
        {
            for (var i = 0; i < ids.Length; i += KeepAliveMany.MaxSessions)
            {
                var chunk = ids[i..Math.Min(ids.Length, i + KeepAliveMany.MaxSessions)];
                while (true)
                {
                    var term = LeaderTerm();
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, term);
                    try
                    {
                        await leader.WriteAsync(new KeepAliveMany(leader.Header(), chunk), attempt.Token).ConfigureAwait(false);
                        break;
                    }
                    catch (OperationCanceledException) when (term.IsCancellationRequested && !deadline.IsCancellationRequested)
                    {
                        // The leader changed while this was in flight: to the new one.
                    }
                    catch (Exception e) when (e is NotLeaderException or OutcomeUnknownException && term.IsCancellationRequested && !deadline.IsCancellationRequested)
                    {
                        // Refused or lost by the leader that was: the new one may take it.
                    }
                }
            }
            batch.Applied.TrySetResult();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            batch.Applied.TrySetCanceled(stop);
        }
        catch (OperationCanceledException)
        {
            Fail(batch, ids.Length, new OutcomeUnknownException(
                $"the keep-alives of this node were not written within {BatchDeadline.TotalSeconds:0.#} s (no leader answered); retry"));
        }
        catch (Exception e)
        {
            // Whatever the write threw, its callers are answered with it: a batch nobody completes
            // would leave every keep-alive in it waiting until its client gave up, and fault the
            // node's stop (DisposeAsync awaits every batch).
            Fail(batch, ids.Length, e);
        }
    }

    private void Fail(Batch batch, int count, Exception e)
    {
        Log.Failed(logger, count, e.Message);
        batch.Applied.TrySetException(e);
        // Observed here: a batch whose callers all gave up must not report an unobserved exception.
        _ = batch.Applied.Task.Exception;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        consensus.LeaderChanged -= OnLeaderChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        Task[] writing;
        lock (_gate)
        {
            _open?.Applied.TrySetCanceled();
            writing = [.. _writing];
        }
        await Task.WhenAll(writing).ConfigureAwait(false);
        _stop.Dispose();
        _opened.Dispose();
    }

    private sealed class Batch
    {
        public HashSet<long> Ids { get; } = [];

        public TaskCompletionSource Applied { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Keep-alives of {Count} sessions not written: {Message}")]
        public static partial void Failed(ILogger logger, int count, string message);
    }
}
