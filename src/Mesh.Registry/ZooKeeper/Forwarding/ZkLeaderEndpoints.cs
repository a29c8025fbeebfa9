using System.Buffers.Binary;
using Mesh.Registry.Api;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The leader's side of ZooKeeper forwarding, on the client API: a follower's ZooKeeper session
/// sends its writes (and session opens, keep-alives and closes) here, and every follower its batches
/// of keep-alives (<see cref="Mesh.Registry.Sessions.KeepAliveBatcher"/>), as encoded registry commands,
/// and asks here for the index a <c>sync</c> must reach. Only nodes of the cluster can call these:
/// each request carries an HMAC of its body under a key derived from the replicated CA material
/// (<see cref="ForwardProof"/>), checked before the body is read, and the proof's time and a write's
/// command time must be within <see cref="ForwardProof.MaxSkew"/> of the leader's clock, so a captured
/// request cannot be replayed later, and a write's proof is accepted once (<see cref="ForwardReplays"/>),
/// so it cannot be replayed sooner either. Answers are definite: 503
/// when nothing was proposed (this node does not lead), 504 when the outcome is unknown, 200 with
/// the result otherwise.
/// </summary>
internal static class ZkLeaderEndpoints
{
    public const string WritePath = "/v1/internal/zookeeper/write";

    /// <summary>Consecutive writes of one session (<see cref="ZkBatchCodec"/>), proposed in order, each answered.</summary>
    public const string BatchWritePath = "/v1/internal/zookeeper/writes";

    /// <summary>Writes in one forwarded batch, at most.</summary>
    public const int MaxBatch = 64;

    /// <summary>
    /// A forwarded command under the leader's header (its clock and deduplication ids), keeping
    /// what the follower decided about the caller: the quota its creations count against and its
    /// ZooKeeper identities for node ACLs. Dropping the quota here let a join token write past its
    /// namespace's limits through any follower. The forward is proven (<see cref="ForwardProof"/>),
    /// so the follower's decision is trusted as the leader's own would be.
    /// </summary>
    public static Command Restamp(Command command, CommandHeader leader) =>
        command with { Header = leader with { Quota = command.Header.Quota, Caller = command.Header.Caller } };
    public const string SyncPath = "/v1/internal/zookeeper/sync";
    public const string ProofHeader = "Mesh-Zk-Proof";

    /// <summary>A forwarded body's bytes, at most; a longer one is answered 413 unread, so nothing of it is proposed.</summary>
    public const long MaxBody = 2 * 1024 * 1024;

    public static void Map(WebApplication app, IConsensus consensus, RegistryWriter writer, ZkSessionKey key, TimeSpan requestTimeout)
    {
        var replays = new ForwardReplays();
        app.MapPost(WritePath, async context =>
        {
            if (await ReadProvenAsync(context, key, writer.NowMs, replays) is not { } body)
                return;
            if (await DecodeAsync(context, writer, [body]) is not [var command])
                return;
            try
            {
                // Stamped with the leader's clock, as every write is.
                var result = await writer.WriteAsync(Restamp(command, writer.Header()), context.RequestAborted);
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(ZkResultCodec.Encode(result), context.RequestAborted);
            }
            catch (NotLeaderException)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, "this node does not lead; nothing was proposed");
            }
            catch (Exception e) when (e is OutcomeUnknownException or InvalidOperationException)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown, e.Message);
            }
        });

        app.MapPost(BatchWritePath, async context =>
        {
            if (await ReadProvenAsync(context, key, writer.NowMs, replays) is not { } body)
                return;
            IReadOnlyList<byte[]> encoded;
            try
            {
                encoded = ZkBatchCodec.DecodeCommands(body, MaxBatch);
            }
            catch (FormatException e)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status400BadRequest, ApiErrors.BadRequest, e.Message);
                return;
            }
            if (await DecodeAsync(context, writer, encoded) is not { } commands)
                return;
            // Proposed one after the other without waiting (each is in the log before the next is
            // proposed), so they apply in the session's order; one that is not proposed stops the
            // rest, so none after it is applied without it.
            var writes = new List<Task<ApplyResult>>(commands.Count);
            foreach (var command in commands)
            {
                var write = writer.WriteAsync(Restamp(command, writer.Header()), context.RequestAborted);
                writes.Add(write);
                if (write.IsFaulted && write.Exception?.InnerException is NotLeaderException)
                    break;
            }
            var outcomes = new List<(ZkBatchCodec.Outcome, byte[])>(commands.Count);
            foreach (var write in writes)
            {
                try
                {
                    outcomes.Add((ZkBatchCodec.Outcome.Applied, ZkResultCodec.Encode(await write)));
                }
                catch (NotLeaderException)
                {
                    outcomes.Add((ZkBatchCodec.Outcome.NotProposed, []));
                }
                catch (Exception e) when (e is OutcomeUnknownException or InvalidOperationException)
                {
                    outcomes.Add((ZkBatchCodec.Outcome.Unknown, System.Text.Encoding.UTF8.GetBytes(e.Message)));
                }
            }
            while (outcomes.Count < commands.Count)
                outcomes.Add((ZkBatchCodec.Outcome.NotProposed, []));
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(ZkBatchCodec.EncodeOutcomes(outcomes), context.RequestAborted);
        });

        app.MapPost(SyncPath, async context =>
        {
            // A sync changes nothing, so a replayed one does no harm; and syncs from several
            // followers in one millisecond have the same body and proof.
            if (await ReadProvenAsync(context, key, writer.NowMs, replays: null) is null)
                return;
            if (consensus.Role is not (ConsensusRole.Leader or ConsensusRole.Standalone))
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, "this node does not lead");
                return;
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(requestTimeout);
            try
            {
                // After the barrier the commit index covers every write acknowledged before the sync.
                await consensus.ReadBarrierAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, "the read barrier did not complete in time");
                return;
            }
            var index = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(index, consensus.CommitIndex);
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(index, context.RequestAborted);
        });
    }

    /// <summary>The commands when every one is a ZooKeeper write stamped near this node's clock; otherwise answers 400 and returns null.</summary>
    private static async Task<IReadOnlyList<Command>?> DecodeAsync(HttpContext context, RegistryWriter writer, IReadOnlyList<byte[]> encoded)
    {
        var commands = new List<Command>(encoded.Count);
        foreach (var bytes in encoded)
        {
            Command command;
            try
            {
                command = CommandCodec.Decode(bytes);
            }
            catch (CommandFormatException e)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status400BadRequest, ApiErrors.BadRequest, "not a registry command: " + e.Message);
                return null;
            }
            if (command is not (CreateNode or SetData or DeleteNode or Transaction or OpenSession or KeepAlive or KeepAliveMany or CloseSession)
                || Math.Abs(writer.NowMs - command.Header.TimeMs) > ForwardProof.MaxSkew.TotalMilliseconds)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status400BadRequest, ApiErrors.BadRequest, "not a ZooKeeper write, or stamped too far from this node's clock");
                return null;
            }
            commands.Add(command);
        }
        return commands;
    }

    /// <summary>
    /// The body when its proof holds; otherwise answers and returns null. The header is checked
    /// before a byte of body is read, so a caller without the cluster's key costs this node one
    /// header parse and an HMAC, never a buffer; a proven body is read into an array of exactly
    /// its declared length.
    /// </summary>
    private static async Task<byte[]?> ReadProvenAsync(HttpContext context, ZkSessionKey key, long nowMs, ForwardReplays? replays)
    {
        if (!ForwardProof.TryParse(context.Request.Headers[ProofHeader].ToString(), out var proof) || !key.IsFromNode(proof, nowMs))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, ApiErrors.Forbidden,
                $"only registry nodes may forward ZooKeeper requests (no valid {ProofHeader} header, or one stamped more than {ForwardProof.MaxSkew.TotalSeconds:0} s from this node's clock); the body was not read");
            return null;
        }
        if (context.Request.ContentLength is not { } length || length > MaxBody)
        {
            await RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, ApiErrors.BodyTooLarge,
                $"a forwarded request declares its length, at most {MaxBody} bytes; the body was not read");
            return null;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = length;
        var body = new byte[length];
        try
        {
            await context.Request.Body.ReadExactlyAsync(body, context.RequestAborted);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or BadHttpRequestException or OperationCanceledException)
        {
            // The sender went away or sent less than it declared: nothing to answer.
            context.Abort();
            return null;
        }
        if (!proof.Covers(body))
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status403Forbidden, ApiErrors.Forbidden, $"the body does not match its {ProofHeader} header");
            return null;
        }
        // Only once the body is proven, so a stranger cannot spend a proof it saw with another body.
        if (replays?.TryUse(proof, nowMs) == false)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status403Forbidden, ApiErrors.Forbidden, $"this {ProofHeader} was used before; a forwarded request is applied once; nothing was proposed");
            return null;
        }
        return body;
    }

    // Answered without reading the body; the connection is closed after, so an unread body never holds it.
    private static Task RefuseAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.Headers.Connection = "close";
        return ApiJson.ErrorAsync(context, status, code, message);
    }
}
