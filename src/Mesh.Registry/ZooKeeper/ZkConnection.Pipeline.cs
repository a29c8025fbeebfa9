using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// Write pipelining. A ZooKeeper client keeps many requests outstanding on one
/// session and expects them applied and answered in the order sent; waiting for each write's Raft
/// round before reading the next request would cap a session at one write per round trip. So a
/// write this node proposes itself is proposed as soon as it is read — proposals enter the Raft
/// log in the order they are made, which is request order — and answered by a chain that awaits
/// each write after the one before it. Anything that is not such a write (reads, syncs, auth,
/// writes forwarded from a follower, whose HTTP requests could overtake each other) first waits
/// for the chain to finish, so it sees every earlier write, as in ZooKeeper. The number in flight
/// is bounded; a write whose outcome is unknown is answered ConnectionLoss and ends the
/// connection, and later writes in the chain get no answer (the client learns ConnectionLoss for
/// them from the closed connection, as with ZooKeeper). On a follower, writes the client sent
/// back to back are forwarded to the leader together (<see cref="ForwardWritesAsync"/>).
/// </summary>
internal sealed partial class ZkConnection
{
    /// <summary>Writes proposed and not yet answered, at most; more wait for the oldest.</summary>
    internal const int MaxPipelinedWrites = 256;

    /// <summary>A forwarded batch stops growing past this many request bytes (the leader takes 2 MiB bodies; one request is at most 1 MiB).</summary>
    private const long MaxForwardedBytes = 512 * 1024;

    private readonly Queue<Task<ApplyResult>> _proposed = new();
    private Task<bool> _answered = Task.FromResult(true);
    private CancellationTokenSource? _closing;

    private async Task<bool> PipelineAsync(int xid, ZkStep.Write write, CancellationToken cancellationToken)
    {
        Task<bool> previous;
        lock (_proposed)
        {
            previous = _proposed.Count >= MaxPipelinedWrites ? _answered : Task.FromResult(true);
        }
        if (!await previous.ConfigureAwait(false))
            return false;
        // WriteAsync proposes before its first await, so proposals keep the order of this loop.
        var result = server.Leader.WriteAsync(write.Command(server.Leader.Header()), cancellationToken);
        lock (_proposed)
        {
            _proposed.Enqueue(result);
            _answered = AnswerAsync(_answered, xid, write, result, cancellationToken);
        }
        return true;
    }

    private async Task<bool> AnswerAsync(Task<bool> previous, int xid, ZkStep.Write write, Task<ApplyResult> result, CancellationToken cancellationToken)
    {
        try
        {
            if (!await previous.ConfigureAwait(false))
            {
                _ = result.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                return false;
            }
            var answered = await AnswerOrLoseAsync(xid, async () =>
            {
                var applied = await result.ConfigureAwait(false);
                await ReplyAsync(() => server.Store.Read(s => write.Complete(applied, s)), cancellationToken, flush: !NextIsDone()).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (!answered)
                _closing?.Cancel();
            return answered;
        }
        finally
        {
            lock (_proposed)
            {
                _proposed.Dequeue();
            }
        }
    }

    /// <summary>
    /// On a follower: <paramref name="write"/> and the writes the client had already sent after it,
    /// forwarded to the leader in one request (at most <see cref="Forwarding.ZkLeaderEndpoints.MaxBatch"/>
    /// and about <see cref="MaxForwardedBytes"/>), then answered in order. Forwarding them one at a
    /// time would cost a leader round trip each; sending them concurrently could reorder them. The
    /// first request that is not such a write ends the batch and is carried to the caller, to run
    /// after the batch is answered.
    /// </summary>
    private async Task<(bool Open, ZkRequest? Carried)> ForwardWritesAsync(ZkSession session, int xid, ZkStep.Write write, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        var batch = new List<(int Xid, ZkStep.Write Write)> { (xid, write) };
        ZkRequest? carried = null;
        var bytes = 0L;
        while (batch.Count < Forwarding.ZkLeaderEndpoints.MaxBatch && bytes < MaxForwardedBytes && ZkFrames.HasBufferedFrame(input))
        {
            var frame = await ZkFrames.ReadAsync(input, cancellationToken).ConfigureAwait(false);
            if (frame is null)
                break;
            server.Received();
            bytes += frame.Length;
            var next = ZkRequest.Decode(frame);
            if (!ZkSession.IsWrite(next.Op) || Plan(session, next) is not ZkStep.Write nextWrite)
            {
                carried = next;
                break;
            }
            batch.Add((next.Xid, nextWrite));
        }
        if (batch.Count == 1)
            return (await ExecuteAsync(session, xid, write, cancellationToken).ConfigureAwait(false), carried);

        // Replies already written go out before the wait on the leader.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ApplyResult> applied = [];
        Exception? failure;
        try
        {
            (applied, failure) = await server.Leader.WriteBatchAsync([.. batch.Select(b => b.Write.Command(server.Leader.Header()))], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NotLeaderException or OutcomeUnknownException or QuorumUnavailableException or TimeoutException)
        {
            failure = e;
        }
        for (var i = 0; i < applied.Count; i++)
        {
            var (_, done) = batch[i];
            var result = applied[i];
            await ReplyAsync(() => server.Store.Read(s => done.Complete(result, s)), cancellationToken).ConfigureAwait(false);
        }
        if (applied.Count == batch.Count)
            return (true, carried);
        // The first write without a result is answered ConnectionLoss and the connection closes:
        // the client learns the same for the ones after it.
        return (await AnswerOrLoseAsync(batch[applied.Count].Xid, () => Task.FromException<bool>(failure ?? new OutcomeUnknownException("no outcome for a forwarded write")), cancellationToken).ConfigureAwait(false), null);
    }

    /// <summary>True when the write after the one being answered has its result already: its reply will flush both.</summary>
    private bool NextIsDone()
    {
        lock (_proposed)
        {
            return _proposed.Count > 1 && _proposed.ElementAt(1).IsCompleted;
        }
    }

    /// <summary>Waits until every pipelined write is answered; false when one ended the connection.</summary>
    private Task<bool> DrainPipelineAsync()
    {
        lock (_proposed)
        {
            return _answered;
        }
    }

    /// <summary>On the way out: lets the chain finish (it stops at the connection's cancellation) without throwing.</summary>
    private async Task SettlePipelineAsync()
    {
        try
        {
            await DrainPipelineAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is closing: the client treats writes it has no answer for as ConnectionLoss.
        }
    }
}
