using System.Buffers.Binary;
using System.Net;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// Where a ZooKeeper session's writes go: proposed here on the leader, forwarded to the leader's
/// client API (<see cref="ZkLeaderEndpoints"/>) on a follower, through the same peer addresses and
/// HTTP clients the HTTP API forwards with. A forwarded write returns only once this node has
/// applied it, so the session's next read here reflects it. Failures are definite:
/// <see cref="NotLeaderException"/> when nothing was proposed (no leader, no connection to it, or
/// it no longer leads), <see cref="OutcomeUnknownException"/> when the write may or may not have
/// been applied. The connection answers both with ConnectionLoss, ZooKeeper's word for "unknown".
/// </summary>
internal sealed class ZkLeaderClient(IConsensus consensus, RegistryWriter writer, MemberAddresses? addresses, PeerClients? clients,
    ZkSessionKey key, TimeProvider time, TimeSpan timeout)
{
    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(25);

    public bool IsLeader => consensus.Role is ConsensusRole.Leader or ConsensusRole.Standalone;

    public CommandHeader Header() => writer.Header();

    /// <summary>
    /// Proposes <paramref name="command"/> on this node and never forwards it: null when this node
    /// does not lead (nothing was proposed). A pipelined write uses this, so a write that finds the
    /// lead gone is not sent over HTTP past the writes proposed here before it.
    /// </summary>
    public Task<ApplyResult>? TryProposeHere(Command command, CancellationToken cancellationToken)
    {
        if (!IsLeader)
            return null;
        // The consensus refuses before its first await when it does not lead, so this is known at once.
        var write = writer.WriteAsync(command, cancellationToken);
        return write.IsFaulted && write.Exception?.InnerException is NotLeaderException ? null : write;
    }

    public async Task<ApplyResult> WriteAsync(Command command, CancellationToken cancellationToken)
    {
        if (IsLeader)
        {
            try
            {
                return await writer.WriteAsync(command, cancellationToken).ConfigureAwait(false);
            }
            catch (NotLeaderException)
            {
                // Lost the lead before proposing anything: forward to the new leader.
            }
        }
        var body = CommandCodec.Encode(ZkLeaderEndpoints.Restamp(command, writer.Header()));
        var answer = await PostAsync(ZkLeaderEndpoints.WritePath, body, write: true, cancellationToken).ConfigureAwait(false);
        ApplyResult result;
        try
        {
            result = ZkResultCodec.Decode(answer);
        }
        catch (FormatException e)
        {
            throw new OutcomeUnknownException("the leader's answer to a forwarded ZooKeeper write could not be read: " + e.Message, e);
        }
        await WaitAppliedAsync(result.Index, "the forwarded write", cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// From a follower: consecutive writes of one session in one request, proposed by the leader in
    /// this order. Returns the results of the leading writes that were applied (this node has
    /// applied them too) and the failure of the first that was not (null when all were): a
    /// <see cref="NotLeaderException"/> when nothing from it on was proposed, an
    /// <see cref="OutcomeUnknownException"/> otherwise. Throws those for the batch as a whole, and
    /// <see cref="ForwardTooLargeException"/> when the leader refused the batch for its size (nothing proposed).
    /// </summary>
    /// <param name="commands">Encoded commands (<see cref="CommandCodec"/>); the leader stamps them with its clock.</param>
    public async Task<(IReadOnlyList<ApplyResult> Applied, Exception? Failure)> WriteBatchAsync(IReadOnlyList<byte[]> commands, CancellationToken cancellationToken)
    {
        var body = ZkBatchCodec.EncodeCommands(commands);
        var answer = await PostAsync(ZkLeaderEndpoints.BatchWritePath, body, write: true, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ApplyResult> applied;
        Exception? failure;
        try
        {
            (applied, failure) = ZkBatchCodec.DecodeOutcomes(answer, commands.Count);
        }
        catch (FormatException e)
        {
            throw new OutcomeUnknownException("the leader's answer to forwarded ZooKeeper writes could not be read: " + e.Message, e);
        }
        if (applied.Count > 0)
            await WaitAppliedAsync(applied.Max(a => a.Index), "the forwarded writes", cancellationToken).ConfigureAwait(false);
        return (applied, failure);
    }

    /// <summary>Waits until this node has applied everything the leader had committed when asked (ZooKeeper's sync); returns that index.</summary>
    public async Task<long> SyncAsync(CancellationToken cancellationToken)
    {
        long index;
        if (IsLeader)
        {
            index = consensus.CommitIndex;
        }
        else
        {
            var stamp = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(stamp, writer.NowMs);
            var answer = await PostAsync(ZkLeaderEndpoints.SyncPath, stamp, write: false, cancellationToken).ConfigureAwait(false);
            if (answer.Length != 8)
                throw new NotLeaderException(null);
            index = BinaryPrimitives.ReadInt64BigEndian(answer);
        }
        await WaitAppliedAsync(index, "sync", cancellationToken).ConfigureAwait(false);
        return index;
    }

    /// <summary>Waits (up to <paramref name="limit"/>) for this node to apply <paramref name="index"/>; false when it did not.</summary>
    public async Task<bool> TryWaitAppliedAsync(long index, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            await consensus.WaitForAppliedAsync(index, deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task WaitAppliedAsync(long index, string what, CancellationToken cancellationToken)
    {
        if (!await TryWaitAppliedAsync(index, timeout, cancellationToken).ConfigureAwait(false))
            throw new OutcomeUnknownException($"{what} is committed at {index} but this node did not apply it within {timeout.TotalSeconds:0.#} s");
    }

    private async Task<byte[]> PostAsync(string path, byte[] body, bool write, CancellationToken cancellationToken)
    {
        if (addresses is null || clients is null)
            throw new NotLeaderException(consensus.LeaderId);
        var leader = consensus.LeaderId;
        var started = time.GetTimestamp();
        while ((leader is null || leader == consensus.LocalId) && time.GetElapsedTime(started) < Api.Forwarding.LeaderFilter.LeaderWait)
        {
            await Task.Delay(LeaderPoll, time, cancellationToken).ConfigureAwait(false);
            leader = consensus.LeaderId;
        }
        if (leader is null || leader == consensus.LocalId)
            throw new NotLeaderException(null);
        using var lookup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lookup.CancelAfter(timeout);
        var url = await addresses.ResolveAsync(leader.Value, lookup.Token).ConfigureAwait(false)
            ?? throw new NotLeaderException(leader);
        // Kept-alive connections (one connect per leader, not per write); the body refuses a resend,
        // and whether it left at all is what makes a failure definite (SendOnceContent).
        var sent = new SendOnceContent(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, path)) { Content = sent, Version = HttpVersion.Version11 };
        request.Headers.TryAddWithoutValidation(ZkLeaderEndpoints.ProofHeader, key.Prove(body, writer.NowMs) ?? "");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + TimeSpan.FromSeconds(1));
        HttpResponseMessage response;
        try
        {
            response = await clients.Reads.SendAsync(request, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var connectFailed = e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError };
            if (connectFailed)
                addresses.Forget(leader.Value);
            // A write is definitely not proposed when no byte of its body left this node (the leader
            // acts only on a whole, proven body); a sync when no connection was made.
            if (write ? !sent.Started : connectFailed)
                throw new NotLeaderException(leader);
            throw new OutcomeUnknownException($"forwarded to the leader (node {leader}) but no answer came back: {e.Message}", e);
        }
        using (response)
        {
            byte[] content;
            try
            {
                content = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new OutcomeUnknownException($"the leader's (node {leader}) answer broke off: {e.Message}", e);
            }
            return response.StatusCode switch
            {
                HttpStatusCode.OK => content,
                HttpStatusCode.ServiceUnavailable or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest => throw new NotLeaderException(leader),
                // Refused from its declared length, before a byte was read: nothing was proposed.
                HttpStatusCode.RequestEntityTooLarge => throw new ForwardTooLargeException(body.Length, ZkLeaderEndpoints.MaxBody),
                _ => throw new OutcomeUnknownException($"the leader (node {leader}) answered {(int)response.StatusCode} to a forwarded ZooKeeper request"),
            };
        }
    }
}
