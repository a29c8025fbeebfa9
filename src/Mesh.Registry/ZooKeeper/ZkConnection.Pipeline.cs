using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Forwarding;
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
/// for the chain to finish, so it sees every earlier write, as in ZooKeeper. A write this node
/// cannot propose because it no longer leads is never forwarded past the chain: it waits for the
/// chain too, so a session's writes apply in the order it sent them across a leader change. The
/// writes in flight are bounded by count and by request bytes; a write whose outcome is unknown is answered ConnectionLoss and ends the
/// connection, and later writes in the chain get no answer (the client learns ConnectionLoss for
/// them from the closed connection, as with ZooKeeper). On a follower, writes the client sent
/// back to back are forwarded to the leader together (<see cref="ForwardWritesAsync"/>).
/// </summary>
internal sealed partial class ZkConnection
{
    /// <summary>Writes proposed and not yet answered, at most; more wait for the oldest.</summary>
    internal const int MaxPipelinedWrites = 256;

    /// <summary>
    /// Request bytes of the writes proposed and not yet answered, at most: 256 writes of up to 1 MiB
    /// each would otherwise hold 256 MiB per connection. More wait for the chain to drain.
    /// </summary>
    internal const long MaxPipelinedBytes = 4 * 1024 * 1024;

    /// <summary>
    /// A forwarded batch's encoded body stays within this (every command counted, the first too); a
    /// write that would take it past stays for the next batch. Well under the leader's
    /// <see cref="Forwarding.ZkLeaderEndpoints.MaxBody"/>, and a single write (at most 1 MiB) goes alone.
    /// </summary>
    internal const long MaxForwardedBytes = 512 * 1024;

    private long _pipelinedBytes;

    private readonly Queue<Task<ApplyResult>> _proposed = new();
    private Task<bool> _answered = Task.FromResult(true);
    private CancellationTokenSource? _closing;

    /// <summary>
    /// Proposes <paramref name="write"/> here and chains its answer; false when the connection must
    /// close, null when this node does not lead (nothing was proposed: the caller forwards it once
    /// the chain is answered, so it cannot overtake a write proposed here).
    /// </summary>
    private async Task<bool?> PipelineAsync(int xid, int bytes, ZkStep.Write write, CancellationToken cancellationToken)
    {
        Task<bool> previous;
        lock (_proposed)
        {
            previous = _proposed.Count >= MaxPipelinedWrites || (_proposed.Count > 0 && _pipelinedBytes + bytes > MaxPipelinedBytes) ? _answered : Task.FromResult(true);
        }
        if (!await previous.ConfigureAwait(false))
            return false;
        BeginWrite();
        // Proposes before its first await, so proposals keep the order of this loop.
        if (server.Leader.TryProposeHere(write.Command(server.Leader.Header()), cancellationToken) is not { } result)
        {
            EndWrite();
            return null;
        }
        lock (_proposed)
        {
            _proposed.Enqueue(result);
            _pipelinedBytes += bytes;
            _answered = AnswerAsync(_answered, xid, bytes, write, result, cancellationToken);
        }
        return true;
    }

    private async Task<bool> AnswerAsync(Task<bool> previous, int xid, int bytes, ZkStep.Write write, Task<ApplyResult> result, CancellationToken cancellationToken)
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
                _pipelinedBytes -= bytes;
            }
            EndWrite();
        }
    }

    /// <summary>
    /// On a follower: <paramref name="write"/> and the writes the client had already sent after it,
    /// forwarded to the leader in one request (at most <see cref="Forwarding.ZkLeaderEndpoints.MaxBatch"/>
    /// writes and <see cref="MaxForwardedBytes"/> of encoded body), then answered in order. Forwarding
    /// them one at a time would cost a leader round trip each; sending them concurrently could
    /// reorder them. The first request that is not such a write, or that would take the batch past
    /// its bytes, ends the batch and is carried to the caller, to run after the batch is answered.
    /// </summary>
    private async Task<(bool Open, ZkPending? Carried)> ForwardWritesAsync(ZkSession session, int xid, ZkStep.Write write, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        var header = server.Leader.Header();
        var batch = new List<(int Xid, ZkStep.Write Write)>();
        var body = new ZkForwardBatch(MaxForwardedBytes, Forwarding.ZkLeaderEndpoints.MaxBatch);
        ZkPending? carried = null;
        while (!body.IsFull && ZkFrames.HasBufferedFrame(input))
        {
            // Encoded only once there is a second write to batch it with; a first one too large to
            // batch is forwarded alone.
            if (batch.Count == 0)
            {
                if (!body.TryAdd(CommandCodec.Encode(write.Command(header))))
                    break;
                batch.Add((xid, write));
            }
            var frame = await ZkFrames.ReadAsync(input, cancellationToken).ConfigureAwait(false);
            if (frame is null)
                break;
            server.Received();
            var next = new ZkPending(ZkRequest.Decode(frame), frame.Length);
            if (!ZkSession.IsWrite(next.Request.Op) || Plan(session, next.Request) is not ZkStep.Write nextWrite
                || !body.TryAdd(CommandCodec.Encode(nextWrite.Command(header))))
            {
                carried = next;
                break;
            }
            batch.Add((next.Request.Xid, nextWrite));
        }
        if (batch.Count <= 1)
            return (await ExecuteAsync(session, xid, write, cancellationToken).ConfigureAwait(false), carried);

        // Replies already written go out before the wait on the leader.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        BeginWrite();
        try
        {
            IReadOnlyList<ApplyResult> applied = [];
            Exception? failure;
            try
            {
                (applied, failure) = await server.Leader.WriteBatchAsync(body.Commands, cancellationToken).ConfigureAwait(false);
            }
            catch (ForwardTooLargeException)
            {
                // The leader read none of it, so nothing was proposed: each write goes on its own, in order.
                foreach (var (alone, single) in batch)
                {
                    if (!await ExecuteAsync(session, alone, single, cancellationToken).ConfigureAwait(false))
                        return (false, null);
                }
                return (true, carried);
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
        finally
        {
            EndWrite();
        }
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
