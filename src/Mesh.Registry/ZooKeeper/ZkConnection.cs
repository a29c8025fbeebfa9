using System.Buffers;
using System.Net;
using System.Text;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Watches;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;
using Mesh.Registry.ZooKeeper.Watches;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// One client connection: the handshake, then requests answered in order. Everything the session
/// sends (replies and watch notifications) goes out under one gate, and before a reply at zxid N
/// every change up to N — and none after it — has been shown to the session's watches, so a
/// notification comes before the reply that reflects its change and after the replies that do not.
/// Any protocol error closes this connection only. On the leader, consecutive writes are pipelined
/// (<c>ZkConnection.Pipeline.cs</c>); replies are flushed once per batch of requests the client had
/// already sent, not once each, and whenever <see cref="FlushThreshold"/> bytes are waiting: the
/// flush awaits the socket, so a client that sends and never reads stops being read from.
/// </summary>
internal sealed partial class ZkConnection(ZooKeeperServer server, ConnectionContext connection, ILogger logger)
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CatchUpWait = TimeSpan.FromSeconds(2);

    /// <summary>Between two slices of a sliced read (getAllChildrenNumber): time for writes waiting on the store's lock to take it.</summary>
    private static readonly TimeSpan SliceGap = TimeSpan.FromMilliseconds(1);

    /// <summary>Unflushed reply bytes, at most, before the connection waits for the client to take them.</summary>
    internal const int FlushThreshold = 64 * 1024;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ZkSession? _session;
    private long _delivered;
    private bool _openedHere;
    private bool _closedSession;
    private long _unflushedBytes;
    private readonly object _writesLock = new();
    private int _writing;
    private TaskCompletionSource _writesIdle = Completed();

    public int WatchCount => _session?.Watches.Count ?? 0;

    public async Task RunAsync()
    {
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        _closing = closed;
        var remote = connection.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            if (!await HandshakeAsync(closed.Token).ConfigureAwait(false))
                return;
            var background = Task.WhenAll(PumpAsync(closed.Token),
                _session!.ReadOnly ? CloseWhenServingAsync(closed.Token) : KeepAliveAsync(closed.Token));
            try
            {
                await ServeAsync(closed.Token).ConfigureAwait(false);
            }
            finally
            {
                await closed.CancelAsync().ConfigureAwait(false);
                await background.ConfigureAwait(false);
            }
        }
        catch (JuteFormatException e)
        {
            Log.Malformed(logger, remote, e.Message);
        }
        catch (NotLeaderException)
        {
            Log.NotLeader(logger, remote);
        }
        catch (Exception e) when (e is OutcomeUnknownException or QuorumUnavailableException or IndexCompactedException or TimeoutException)
        {
            Log.Dropped(logger, remote, e.Message);
        }
        catch (OperationCanceledException)
        {
            // Client gone, idle past its session timeout, or the server stopping.
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException)
        {
            // The socket failed under us.
        }
        finally
        {
            // A graceful close: what was written (a last reply, an error answer) reaches the client first.
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            await CloseUnauthenticatedAsync().ConfigureAwait(false);
            if (_session is { } ended)
                server.Disown(ended.SessionId, this);
        }
    }

    /// <summary>
    /// The node is cut off from its quorum (read-only mode): a read-write session's connection is
    /// closed, so its client reconnects (read-only, if it allows that). False for any other.
    /// </summary>
    public bool CloseIfReadWrite()
    {
        if (_session is not { ReadOnly: false } session)
            return false;
        Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", $"session 0x{session.SessionId:x}: this node has no quorum (read-only mode)");
        connection.Abort();
        return true;
    }

    /// <summary>
    /// A later connection resumed this one's session on this node: this one stops acting for it and
    /// is closed, as ZooKeeper closes a session's old connection when the client reconnects.
    /// </summary>
    private void Superseded()
    {
        Log.Superseded(logger, connection.RemoteEndPoint?.ToString() ?? "?", _session?.SessionId ?? 0);
        connection.Abort();
    }

    /// <summary>
    /// A session this connection opened and that never authenticated is closed with it rather than
    /// left to expire: otherwise connecting and hanging up would leave a live registry session (up to
    /// the longest timeout) per connect. A ZooKeeper client authenticates right after connecting, so
    /// only a client that drops in between loses its new session (it gets SessionExpired and starts
    /// another). In open mode sessions need no authentication and are left to their timeout.
    /// </summary>
    private async Task CloseUnauthenticatedAsync()
    {
        // Not once another connection took the session: that client may have authenticated it.
        if (!_openedHere || _closedSession || _session is not { } session || session.Access != ZkAccess.None || !server.Owns(session.SessionId, this))
            return;
        try
        {
            // Short: this also runs while the node stops, which must not wait on it.
            using var timeout = new CancellationTokenSource(CatchUpWait);
            await server.Leader.WriteAsync(new CloseSession(server.Leader.Header(), session.SessionId), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NotLeaderException or OutcomeUnknownException or QuorumUnavailableException or OperationCanceledException or InvalidOperationException)
        {
            // Best effort: the session then expires after its timeout.
        }
    }

    private async Task<bool> HandshakeAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(HandshakeTimeout);
        var input = connection.Transport.Input;
        var first = await ZkFrames.PeekFirstAsync(input, deadline.Token).ConfigureAwait(false);
        if (first is null)
            return false;
        if (FourLetterWords.IsWord(first))
        {
            var word = Encoding.ASCII.GetString(first);
            if (server.Options.FourLetterWords.Contains(word))
                await connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(FourLetterWords.Answer(word, server.Facts())), cancellationToken).ConfigureAwait(false);
            return false;
        }
        var frame = await ZkFrames.ReadAsync(input, deadline.Token).ConfigureAwait(false);
        if (frame is null)
            return false;
        server.Received();
        var reader = new JuteReader(frame);
        var request = ConnectRequest.Read(ref reader);
        reader.EnsureEnd("the connect request");

        if (server.SessionKey() is not { } key)
        {
            Log.Refused(logger, connection.RemoteEndPoint?.ToString() ?? "?", "the cluster has no CA material yet to derive session passwords from");
            return false;
        }
        // A client that has seen more than this node has applied (it was on a node further ahead) is
        // given a moment for this node to catch up, rather than refused at once.
        if (request.LastZxidSeen > server.Store.Hub.AppliedIndex)
            await server.Leader.TryWaitAppliedAsync(request.LastZxidSeen, CatchUpWait, deadline.Token).ConfigureAwait(false);
        // A node between leaders (an election) is given the same moment to find one before the
        // connect is refused for want of a quorum (or, read-only allowed, served read-only).
        for (var waited = 0; !server.Serving && !(request.ReadOnly && server.ReadOnlyNow) && waited < CatchUpWait.TotalMilliseconds; waited += 50)
            await Task.Delay(TimeSpan.FromMilliseconds(50), server.Time, deadline.Token).ConfigureAwait(false);
        var readOnly = server.ReadOnlyNow;
        var decision = server.Store.Read(s => ZkConnect.Decide(request, s.AppliedIndex, server.Options.SessionLimits,
            id => s.TryGetSession(id, out var info) ? info : null, key, server.Serving, readOnly));
        switch (decision)
        {
            case ZkConnectDecision.Refuse refuse:
                Log.Refused(logger, connection.RemoteEndPoint?.ToString() ?? "?", refuse.Reason);
                return false;
            case ZkConnectDecision.Expired:
                await SendAsync(ZkConnect.Rejected, cancellationToken).ConfigureAwait(false);
                return false;
            case ZkConnectDecision.OpenNew open:
                // Rate-limited per address before anything is written: opening a session is a
                // replicated write made before any token is checked (ZkAdmission).
                if (!server.Admission.TryOpenSession(connection.RemoteEndPoint))
                    return false;
                var opened = await OpenSessionAsync(open.TimeoutMs, deadline.Token).ConfigureAwait(false);
                if (!opened.IsOk)
                {
                    Log.Refused(logger, connection.RemoteEndPoint?.ToString() ?? "?", $"the session could not be opened: {opened.Error}");
                    return false;
                }
                Start(opened.SessionId, (int)opened.TtlMs);
                _openedHere = true;
                break;
            case ZkConnectDecision.OpenReadOnly openReadOnly:
                // Local to this node: nothing to replicate, nothing the session rate must bound.
                Start(ZkConnect.LocalReadOnlySessionId(Random.Shared.NextInt64()), openReadOnly.TimeoutMs, readOnly: true);
                break;
            case ZkConnectDecision.Resume resume:
                Start(resume.SessionId, resume.TimeoutMs, resume.ReadOnly);
                break;
        }
        await SendAsync(ZkConnect.Accepted(_session!.SessionId, _session.TimeoutMs, key, _session.ReadOnly), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Opens the registry session. A leader that answers "not leader" proposed nothing, so during an
    /// election the open is tried again on the next leader for up to <see cref="CatchUpWait"/>, as a
    /// connect that finds no leader waits that long, rather than closing the client's connection.
    /// </summary>
    private async Task<Core.Results.ApplyResult> OpenSessionAsync(int timeoutMs, CancellationToken cancellationToken)
    {
        var started = server.Time.GetTimestamp();
        while (true)
        {
            try
            {
                return await server.Leader.WriteAsync(new OpenSession(server.Leader.Header(), timeoutMs), cancellationToken).ConfigureAwait(false);
            }
            catch (NotLeaderException) when (server.Time.GetElapsedTime(started) < CatchUpWait)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), server.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Start(long sessionId, int timeoutMs, bool readOnly = false)
    {
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : "";
        _session = new ZkSession(sessionId, timeoutMs, server.Options.Open ? ZkAccess.Open : ZkAccess.None)
        {
            ReadOnly = readOnly,
            Identities = [new ClientInfo("ip", address)],
            AclIds = [new AclId("ip", address)],
            AclsInUse = () => server.Store.Read(static s => s.AclsInUse),
            TtlNodes = server.Options.TtlNodes,
        };
        // Watches are set at read indexes at or after this: nothing before it can fire one.
        _delivered = server.Store.Hub.AppliedIndex;
        server.Own(sessionId, this)?.Superseded();
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        var session = _session!;
        var input = connection.Transport.Input;
        // ZooKeeper drops a connection that sends nothing (not even a ping) for a session timeout.
        var idle = TimeSpan.FromMilliseconds(session.TimeoutMs);
        try
        {
            while (true)
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(idle);
                var frame = await ZkFrames.ReadAsync(input, deadline.Token).ConfigureAwait(false);
                if (frame is null)
                    return;
                server.Received();
                ZkPending? request = new(ZkRequest.Decode(frame), frame.Length);
                while (request is { } next)
                {
                    (var open, request) = await ServeOneAsync(session, next, cancellationToken).ConfigureAwait(false);
                    if (!open)
                        return;
                }
                // Replies to requests the client had already sent go out together: one flush per batch.
                if (!ZkFrames.HasBufferedFrame(input))
                    await FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await SettlePipelineAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One request: pipelined when it is a write this node proposes itself; otherwise run once every
    /// earlier write is answered. A write on a follower is forwarded with the writes the client sent
    /// right after it (<see cref="ForwardWritesAsync"/>), which may leave the next request carried.
    /// </summary>
    private async Task<(bool Open, ZkPending? Carried)> ServeOneAsync(ZkSession session, ZkPending pending, CancellationToken cancellationToken)
    {
        var request = pending.Request;
        if (ZkSession.IsWrite(request.Op))
        {
            // Planning a write depends on nothing an earlier request changes in the session (an auth
            // is not pipelined, so it has run), so it is planned at once.
            if (Plan(session, request) is ZkStep.Write write)
            {
                if (server.Leader.IsLeader && await PipelineAsync(request.Xid, pending.Bytes, write, cancellationToken).ConfigureAwait(false) is { } open)
                    return (open, null);
                // Not the leader (or no longer): forwarded only once every write proposed here is
                // answered, so it cannot be applied before them.
                if (!await DrainPipelineAsync().ConfigureAwait(false))
                    return (false, null);
                return await ForwardWritesAsync(session, request.Xid, write, cancellationToken).ConfigureAwait(false);
            }
        }
        if (!await DrainPipelineAsync().ConfigureAwait(false))
            return (false, null);
        // Planned after the writes before it are applied, so its zxid is not behind theirs.
        var step = Plan(session, request);
        // What waits on the leader must not hold back replies already written.
        if (step is not (ZkStep.Answer or ZkStep.Read))
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        return (await ExecuteAsync(session, request.Xid, step, cancellationToken).ConfigureAwait(false), null);
    }

    /// <summary>The session's step for a request, or ThrottledOp when it could take the session past its watch limit.</summary>
    private ZkStep Plan(ZkSession session, ZkRequest request)
    {
        var step = session.Handle(request, server.Store.Hub.AppliedIndex);
        if (step is ZkStep.Answer || !ZkWatchLimit.Exceeds(session.Watches, request, server.Options.MaxWatchesPerSession))
            return step;
        server.Admission.WatchLimitReached(connection.RemoteEndPoint, session.SessionId);
        return new ZkStep.Answer(ZkReply.Fail(request.Xid, server.Store.Hub.AppliedIndex, ZkError.ThrottledOp));
    }

    /// <summary>
    /// Runs one step and sends its reply; false when the connection must close after it. A write or
    /// sync that could not be completed (no leader, the leader unreachable, or the outcome unknown)
    /// is answered ConnectionLoss and the connection closed: ZooKeeper's own answer when a client
    /// cannot know whether its request was applied, never a success or a clean failure.
    /// </summary>
    private Task<bool> ExecuteAsync(ZkSession session, int xid, ZkStep step, CancellationToken cancellationToken) =>
        AnswerOrLoseAsync(xid, () => RunStepAsync(session, step, cancellationToken), cancellationToken);

    /// <summary>Runs <paramref name="run"/>; a write or sync whose outcome cannot be known is answered ConnectionLoss and false returned.</summary>
    private async Task<bool> AnswerOrLoseAsync(int xid, Func<Task<bool>> run, CancellationToken cancellationToken)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Forwarding.ForwardTooLargeException e)
        {
            // The leader read none of it: a definite failure, nothing was applied. The session carries on.
            Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", "a write too large to forward, answered MarshallingError: " + e.Message);
            await ReplyAsync(() => ZkReply.Fail(xid, server.Store.Hub.AppliedIndex, ZkError.MarshallingError), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NotLeaderException or OutcomeUnknownException or QuorumUnavailableException or TimeoutException)
        {
            Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", "a write or sync could not be completed, answered ConnectionLoss: " + e.Message);
            await ReplyAsync(() => ZkReply.Fail(xid, server.Store.Hub.AppliedIndex, ZkError.ConnectionLoss), cancellationToken, flush: true).ConfigureAwait(false);
            return false;
        }
    }

    private async Task<bool> RunStepAsync(ZkSession session, ZkStep step, CancellationToken cancellationToken)
    {
        switch (step)
        {
            case ZkStep.Answer answer:
                await ReplyAsync(() => answer.Reply, cancellationToken).ConfigureAwait(false);
                return true;
            case ZkStep.Read read:
                await ReplyAsync(() => server.Store.Read(read.Run), cancellationToken).ConfigureAwait(false);
                return true;
            case ZkStep.Slices sliced:
                ZkReply? done;
                // The store's lock is let go between slices, so writes apply while a big count runs.
                // A pause, not a yield: a lock is not fair, and this loop would take it again before
                // the thread applying writes woke up to it.
                while ((done = server.Store.Read(sliced.Next)) is null)
                    await Task.Delay(SliceGap, server.Time, cancellationToken).ConfigureAwait(false);
                await ReplyAsync(() => done, cancellationToken).ConfigureAwait(false);
                return true;
            case ZkStep.Write write:
                BeginWrite();
                try
                {
                    var result = await server.Leader.WriteAsync(write.Command(server.Leader.Header()), cancellationToken).ConfigureAwait(false);
                    await ReplyAsync(() => server.Store.Read(s => write.Complete(result, s)), cancellationToken).ConfigureAwait(false);
                    return true;
                }
                finally
                {
                    EndWrite();
                }
            case ZkStep.Sync sync:
                // On a follower: the leader's commit index (after a read barrier there), applied here.
                await server.Leader.SyncAsync(cancellationToken).ConfigureAwait(false);
                await ReplyAsync(() => new ZkReply(sync.Xid, server.Store.Hub.AppliedIndex, ZkError.Ok, new PathResponse(sync.Path)), cancellationToken).ConfigureAwait(false);
                return true;
            case ZkStep.Authenticate auth:
                var (granted, refused, @unchecked) = server.Credentials.Authenticate(auth.Packet, session, (connection.RemoteEndPoint as IPEndPoint)?.Address);
                // A guesser's refusals are counted and logged a line per interval, not one each.
                if (@unchecked)
                    server.Admission.AuthFailuresReached(connection.RemoteEndPoint, refused!);
                else if (refused is not null)
                    Log.AuthFailed(logger, connection.RemoteEndPoint?.ToString() ?? "?", auth.Packet.Scheme ?? "(none)", refused);
                await ReplyAsync(() => new ZkReply(Xids.Auth, server.Store.Hub.AppliedIndex, granted is null ? ZkError.AuthFailed : ZkError.Ok), cancellationToken, flush: granted is null).ConfigureAwait(false);
                return granted is not null;
            case ZkStep.CloseSession close:
                if (!server.Owns(session.SessionId, this))
                {
                    // A later connection took the session: this one may no longer end it (ZooKeeper's SessionMoved).
                    await ReplyAsync(() => ZkReply.Fail(close.Xid, server.Store.Hub.AppliedIndex, ZkError.SessionMoved), cancellationToken, flush: true).ConfigureAwait(false);
                    return false;
                }
                _closedSession = true;
                if (session.ReadOnly)
                {
                    // No leader to close it with: a local session ends here; a registry session
                    // expires on the cluster after its timeout, with its ephemerals.
                    await ReplyAsync(() => new ZkReply(close.Xid, server.Store.Hub.AppliedIndex, ZkError.Ok), cancellationToken, flush: true).ConfigureAwait(false);
                    return false;
                }
                var ended = await server.Leader.WriteAsync(new CloseSession(server.Leader.Header(), session.SessionId), cancellationToken).ConfigureAwait(false);
                await ReplyAsync(() => new ZkReply(close.Xid, ended.Index, ZkError.Ok), cancellationToken, flush: true).ConfigureAwait(false);
                return false;
            default:
                throw new InvalidOperationException($"unknown step {step.GetType().Name}");
        }
    }

    /// <summary>
    /// Under the gate: builds the reply, shows the session every change up to its zxid (and none
    /// after it), and writes the notifications, then the reply. Not flushed unless asked or past
    /// <see cref="FlushThreshold"/>: the serve loop flushes once the client has no more requests
    /// waiting (<see cref="FlushAsync"/>).
    /// </summary>
    private async Task ReplyAsync(Func<ZkReply> build, CancellationToken cancellationToken, bool flush = false)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reply = build();
            await DeliverAsync(reply.Zxid, reply.Zxid, cancellationToken).ConfigureAwait(false);
            Write(reply.ToFrame());
            // Awaiting the socket here is the backpressure: a client that does not read stops its own requests.
            if (flush || _unflushedBytes >= FlushThreshold)
                await FlushUnderGateAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends what replies and notifications were written and not yet flushed.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushUnderGateAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask FlushUnderGateAsync(CancellationToken cancellationToken)
    {
        if (_unflushedBytes == 0)
            return;
        server.Buffered(_unflushedBytes);
        _unflushedBytes = 0;
        await connection.Transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Write(byte[] frame)
    {
        server.Sent();
        connection.Transport.Output.Write(frame);
        _unflushedBytes += frame.Length;
    }

    /// <summary>
    /// Shows the session <paramref name="changes"/> up to <paramref name="limit"/>; true when one is
    /// past it. Under the store's lock when a watch can fire, since whether the session may hear a
    /// change depends on node ACLs.
    /// </summary>
    private bool Observe(ZkSession session, IReadOnlyList<Core.Events.ChangeEvent> changes, long limit)
    {
        if (session.Watches.Count == 0 || changes.Count == 0)
            return changes.Any(c => c.Index > limit);
        return server.Store.Read(state =>
        {
            foreach (var change in changes)
            {
                if (change.Index > limit)
                    return true;
                session.Observe(change, state);
            }
            return false;
        });
    }

    /// <summary>
    /// Under the gate: feeds the session the applied changes after the last one it saw up to
    /// <paramref name="limit"/> (waiting for those up to <paramref name="upTo"/>) and sends what fires.
    /// A change past the limit waits: it reaches the client after the reply being sent, which does
    /// not reflect it, as ZooKeeper orders them.
    /// </summary>
    private async Task DeliverAsync(long upTo, long limit, CancellationToken cancellationToken)
    {
        var session = _session!;
        var hub = server.Store.Hub;
        while (true)
        {
            var changes = hub.Read("/", recursive: true, _delivered);
            var beyond = Observe(session, changes.Events, limit);
            // Once a change past the limit is published, every one up to it is.
            _delivered = Math.Max(_delivered, beyond ? limit : Math.Min(changes.Index, limit));
            if (beyond || (changes.Events.Count == 0 && _delivered >= upTo))
                break;
            if (changes.Events.Count == 0)
            {
                // Applied, not yet published to the hub: a matter of microseconds.
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        foreach (var notification in session.Outbox)
            Write(notification.ToFrame());
        session.ClearOutbox();
    }

    /// <summary>
    /// Sends notifications while the client sends nothing. Not while a write is being answered: its
    /// reply (at its own zxid) must come before the notifications of later changes, and delivers
    /// what is due before it. The limit is read before the check, so a write that starts after the
    /// check gets a zxid past it.
    /// </summary>
    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var hub = server.Store.Hub;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await hub.WaitAsync("/", recursive: true, Volatile.Read(ref _delivered), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                await WritesIdleAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var limit = hub.AppliedIndex;
                    if (Volatile.Read(ref _writing) == 0)
                    {
                        await DeliverAsync(0, limit, cancellationToken).ConfigureAwait(false);
                        await FlushUnderGateAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IndexCompactedException or IOException or ObjectDisposedException)
        {
            Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", e.Message);
            connection.Abort();
        }
    }

    /// <summary>A write of this session is between its proposal (or forward) and its reply.</summary>
    private void BeginWrite()
    {
        lock (_writesLock)
        {
            if (_writing++ == 0)
                _writesIdle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private void EndWrite()
    {
        lock (_writesLock)
        {
            if (--_writing == 0)
                _writesIdle.TrySetResult();
        }
    }

    private Task WritesIdleAsync()
    {
        lock (_writesLock)
            return _writesIdle.Task;
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    /// <summary>
    /// A read-only session's connection closes once this node has a leader again, so its client
    /// reconnects read-write (a ZooKeeper read-only server shuts down when it rejoins a quorum).
    /// </summary>
    private async Task CloseWhenServingAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!server.Serving)
                await Task.Delay(ZooKeeperServer.ReadOnlyLookEvery, server.Time, cancellationToken).ConfigureAwait(false);
            Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", $"read-only session 0x{_session!.SessionId:x}: this node has a leader again");
            connection.Abort();
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Keeps the registry session alive while the connection is open: the client's pings are
    /// answered here, the registry's TTL is renewed every third of it in this node's next batch of
    /// keep-alives (<see cref="Mesh.Registry.Sessions.KeepAliveBatcher"/>: one replicated command per node and
    /// interval for all its sessions), and at once when a session resumes here, as ZooKeeper touches a session on
    /// reconnect. One failed renewal is retried a period later; after two in a row the client is
    /// better off on another node.
    /// </summary>
    private async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        var session = _session!;
        var period = TimeSpan.FromMilliseconds(Math.Max(session.TimeoutMs / 3, 250));
        var failures = 0;
        var wait = _openedHere;
        try
        {
            while (true)
            {
                if (wait)
                    await Task.Delay(period, server.Time, cancellationToken).ConfigureAwait(false);
                wait = true;
                try
                {
                    if (await server.KeepAlives.RenewAsync(session.SessionId, cancellationToken).ConfigureAwait(false) is null)
                    {
                        // Expired: the client learns it when it reconnects (timeout 0).
                        connection.Abort();
                        return;
                    }
                    failures = 0;
                }
                catch (Exception e) when (e is NotLeaderException or OutcomeUnknownException or QuorumUnavailableException or InvalidOperationException)
                {
                    if (++failures < 2)
                        continue;
                    Log.Dropped(logger, connection.RemoteEndPoint?.ToString() ?? "?", "cannot keep the session alive: " + e.Message);
                    connection.Abort();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ValueTask SendAsync(ConnectResponse response, CancellationToken cancellationToken)
    {
        var writer = new JuteWriter();
        response.Write(writer);
        return SendAsync(writer.ToFrame(), cancellationToken);
    }

    private async ValueTask SendAsync(byte[] frame, CancellationToken cancellationToken)
    {
        server.Sent();
        await connection.Transport.Output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ZooKeeper client {Remote}: malformed frame, connection closed: {Reason}")]
        public static partial void Malformed(ILogger logger, string remote, string reason);

        [LoggerMessage(2, LogLevel.Information, "ZooKeeper client {Remote}: connection refused: {Reason}")]
        public static partial void Refused(ILogger logger, string remote, string reason);

        [LoggerMessage(3, LogLevel.Information, "ZooKeeper client {Remote}: no leader could take the request; connection closed so the client tries again")]
        public static partial void NotLeader(ILogger logger, string remote);

        [LoggerMessage(4, LogLevel.Information, "ZooKeeper client {Remote}: connection dropped: {Reason}")]
        public static partial void Dropped(ILogger logger, string remote, string reason);

        [LoggerMessage(5, LogLevel.Information, "ZooKeeper client {Remote}: authentication with scheme {Scheme} failed, connection closed: {Reason}")]
        public static partial void AuthFailed(ILogger logger, string remote, string scheme, string reason);

        [LoggerMessage(6, LogLevel.Information, "ZooKeeper client {Remote}: session 0x{SessionId:x} was resumed on another connection; this one is closed")]
        public static partial void Superseded(ILogger logger, string remote, long sessionId);
    }
}

/// <summary>A request read off the socket and the size of its frame (what the pipeline's byte bound counts).</summary>
internal readonly record struct ZkPending(ZkRequest Request, int Bytes);
