using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper.Tests.Sessions;

/// <summary>
/// The edge's job done in memory: sessions over one <see cref="RegistryStateMachine"/>, writes
/// applied at the next index with the changes fed to every session, and what each session sends
/// recorded in order (notifications before the reply they precede).
/// </summary>
internal sealed class ZkHarness
{
    private int _xid;

    public RegistryStateMachine State { get; } = new();

    public long Index { get; private set; }

    public long TimeMs { get; set; } = 1_700_000_000_000;

    public List<ZkSession> Sessions { get; } = [];

    public ZkSession Open(int timeoutMs = 10_000, IZkAccess? access = null)
    {
        var result = State.Apply(++Index, new OpenSession(CommandHeader.At(TimeMs), timeoutMs));
        var session = new ZkSession(result.SessionId, timeoutMs, access ?? ZkAccess.Open);
        Sessions.Add(session);
        return session;
    }

    /// <summary>Sends one request; returns the notifications the session sent before the reply, and the reply.</summary>
    public (List<ZkReply> Notifications, ZkReply Reply) Send(ZkSession session, OpCode op, IJuteWritable? body)
    {
        var writer = new JuteWriter();
        new RequestHeader(++_xid, (int)op).Write(writer);
        body?.Write(writer);
        var request = ZkRequest.Decode(writer.ToRecord());
        return Run(session, request);
    }

    public (List<ZkReply> Notifications, ZkReply Reply) SetWatches(ZkSession session, SetWatchesRequest watches)
    {
        var writer = new JuteWriter();
        new RequestHeader(Xids.SetWatches, (int)OpCode.SetWatches2).Write(writer);
        watches.Write(writer, version2: true);
        return Run(session, ZkRequest.Decode(writer.ToRecord()));
    }

    public (List<ZkReply> Notifications, ZkReply Reply) Run(ZkSession session, ZkRequest request)
    {
        var step = session.Handle(request, State.AppliedIndex);
        ZkReply reply = step switch
        {
            ZkStep.Answer a => a.Reply,
            ZkStep.Read r => r.Run(State),
            ZkStep.Slices sliced => RunSlices(sliced),
            ZkStep.Write w => Write(w),
            ZkStep.Sync s => new ZkReply(s.Xid, State.AppliedIndex, ZkError.Ok, new PathResponse(s.Path)),
            _ => throw new NotSupportedException(step.GetType().Name),
        };
        var notifications = session.Outbox.ToList();
        session.ClearOutbox();
        return (notifications, reply);
    }

    /// <summary>Runs between two slices of a sliced read, where the edge lets go of the store's lock (and writes are applied).</summary>
    public Action? BetweenSlices { get; set; }

    private ZkReply RunSlices(ZkStep.Slices sliced)
    {
        ZkReply? reply;
        while ((reply = sliced.Next(State)) is null)
            BetweenSlices?.Invoke();
        return reply;
    }

    private ZkReply Write(ZkStep.Write write) => write.Complete(Apply(write.Command(CommandHeader.At(TimeMs))), State);

    /// <summary>Applies a command at the next index (as the server's own, e.g. the reaper's) and feeds its changes to every session.</summary>
    public Core.Results.ApplyResult Apply(Command command)
    {
        var result = State.Apply(++Index, command);
        foreach (var change in result.Events)
        {
            foreach (var session in Sessions)
                session.Observe(change, State);
        }
        return result;
    }

    /// <summary>Notifications a session has queued and not sent yet, taken.</summary>
    public List<ZkReply> TakeNotifications(ZkSession session)
    {
        var notifications = session.Outbox.ToList();
        session.ClearOutbox();
        return notifications;
    }

    /// <summary>The per-op results of a multi's reply.</summary>
    public static List<MultiResult> MultiResults(ZkReply reply)
    {
        var frame = reply.ToFrame();
        var reader = new JuteReader(frame.AsSpan(4));
        ReplyHeader.Read(ref reader);
        return MultiResponse.Read(ref reader);
    }

    /// <summary>The reply's body as the client reads it.</summary>
    public static T Body<T>(ZkReply reply)
        where T : IJuteRecord<T>
    {
        var frame = reply.ToFrame();
        var reader = new JuteReader(frame.AsSpan(4));
        ReplyHeader.Read(ref reader);
        var body = T.Read(ref reader);
        reader.EnsureEnd(typeof(T).Name);
        return body;
    }
}

/// <summary>A multi request's body.</summary>
internal sealed record MultiBody(IReadOnlyList<MultiOp> Ops) : IJuteWritable
{
    public void Write(JuteWriter writer) => MultiRequest.Write(writer, Ops);
}
