using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Sessions;

public sealed class SessionTests
{
    [Fact]
    public void OpenSession_Any_IdIsLogIndexAndTtlIsClamped()
    {
        var r = new Registry();
        r.Create("/x");
        var result = r.Apply(new OpenSession(r.Header(), 10));

        Assert.Equal(2, result.SessionId);
        Assert.Equal(SessionLimits.MinTtlMs, result.TtlMs);
        Assert.Equal(SessionLimits.MaxTtlMs, r.Apply(new OpenSession(r.Header(), long.MaxValue)).TtlMs);
        Assert.Equal([2L, 3L], r.Machine.GetSessions().Select(s => s.Id));
    }

    [Fact]
    public void ExpireSessions_DeadlineReached_DeletesExactlyThatSessionsEphemerals()
    {
        var r = new Registry();
        var dying = r.OpenSession(2_000);
        r.Time += 1_000;
        var living = r.OpenSession(2_000);
        r.Create("/svc/a", mode: CreateMode.Ephemeral, session: dying, parents: true);
        r.Create("/svc/b", mode: CreateMode.Ephemeral, session: living);
        r.Create("/svc/c");
        r.Create("/d", mode: CreateMode.Ephemeral, session: dying);

        var result = r.Apply(new ExpireSessions(r.Header(), r.Time + 1_000));

        Assert.Equal([dying], result.ExpiredSessions);
        Assert.Equal(["b", "c"], r.Machine.GetChildren("/svc").Children);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/d").Error);
        Assert.Equal(
            ["Deleted /d", "ChildrenChanged /", "Deleted /svc/a", "ChildrenChanged /svc"],
            result.Events.Select(e => $"{e.Type} {e.Path}"));
        Assert.All(result.Events, e => Assert.Equal(r.Index, e.Index));
        Assert.False(r.Machine.TryGetSession(dying, out _));
        Assert.True(r.Machine.TryGetSession(living, out _));
    }

    [Fact]
    public void GetEphemerals_LiveSession_ListsItsOwnEphemeralPathsSorted_AndUnknownSessionNone()
    {
        var r = new Registry();
        var mine = r.OpenSession(2_000);
        var other = r.OpenSession(2_000);
        r.Create("/svc/b", mode: CreateMode.Ephemeral, session: mine, parents: true);
        r.Create("/svc/a", mode: CreateMode.Ephemeral, session: mine);
        r.Create("/svc/c", mode: CreateMode.Ephemeral, session: other);
        r.Create("/svc/d");

        Assert.Equal(["/svc/a", "/svc/b"], r.Machine.GetEphemerals(mine));
        Assert.Empty(r.Machine.GetEphemerals(12345));
    }

    [Fact]
    public void ExpireSessions_BeforeDeadline_ExpiresNothing()
    {
        var r = new Registry();
        var id = r.OpenSession(5_000);
        Assert.Empty(r.Apply(new ExpireSessions(r.Header(), r.Time + 4_999)).ExpiredSessions);
        Assert.Equal([id], r.Apply(new ExpireSessions(r.Header(), r.Time + 5_000)).ExpiredSessions);
    }

    [Fact]
    public void KeepAlive_LiveSession_MovesDeadlineToCommandTimePlusTtl()
    {
        var r = new Registry();
        var id = r.OpenSession(5_000);
        r.Time += 4_000;
        var result = r.Apply(new KeepAlive(r.Header(), id));

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.True(r.Machine.TryGetSession(id, out var session));
        Assert.Equal(r.Time + 5_000, session.DeadlineMs);
        Assert.Empty(r.Apply(new ExpireSessions(r.Header(), r.Time + 4_000)).ExpiredSessions);
    }

    [Fact]
    public void KeepAliveMany_LiveSessions_MovesEachDeadlineToCommandTimePlusItsOwnTtl()
    {
        var r = new Registry();
        var shortTtl = r.OpenSession(2_000);
        var longTtl = r.OpenSession(8_000);
        var notRenewed = r.OpenSession(3_000);
        r.Time += 1_500;

        var result = r.Apply(new KeepAliveMany(r.Header(), [longTtl, shortTtl, shortTtl]));

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal(r.Index, result.Index);
        Assert.Equal(
            [(shortTtl, r.Time + 2_000), (longTtl, r.Time + 8_000), (notRenewed, r.Time - 1_500 + 3_000)],
            r.Machine.GetSessions().Select(s => (s.Id, s.DeadlineMs)));
    }

    [Fact]
    public void KeepAliveMany_UnknownIds_AreIgnored_AndTheKnownOnesStillRenewed()
    {
        var r = new Registry();
        var id = r.OpenSession(2_000);
        r.Time += 1_900;

        var result = r.Apply(new KeepAliveMany(r.Header(), [42, id, -1]));

        Assert.True(result.IsOk);
        Assert.Empty(result.Events);
        Assert.Empty(r.Apply(new ExpireSessions(r.Header(), r.Time + 1_999)).ExpiredSessions);
        Assert.Equal([id], r.Apply(new ExpireSessions(r.Header(), r.Time + 2_000)).ExpiredSessions);
    }

    [Fact]
    public void KeepAliveMany_AfterExpiry_DoesNotRevive()
    {
        var r = new Registry();
        var id = r.OpenSession(1_000);
        r.Create("/e", mode: CreateMode.Ephemeral, session: id);
        r.Apply(new ExpireSessions(r.Header(), r.Time + 1_000));

        r.Apply(new KeepAliveMany(r.Header(), [id]));

        Assert.False(r.Machine.TryGetSession(id, out _));
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/e").Error);
    }

    [Fact]
    public void KeepAliveAndClose_UnknownSession_AreSessionExpired()
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.SessionExpired, r.Apply(new KeepAlive(r.Header(), 42)).Error);
        Assert.Equal(ErrorCode.SessionExpired, r.Apply(new CloseSession(r.Header(), 42)).Error);
        Assert.Equal(ErrorCode.SessionExpired, r.Create("/e", mode: CreateMode.Ephemeral, session: 42).Error);
    }

    [Fact]
    public void CloseSession_WithEphemerals_DeletesThemInTheSameCommand()
    {
        var r = new Registry();
        var id = r.OpenSession();
        r.Create("/e1", mode: CreateMode.Ephemeral, session: id);
        r.Create("/e2", mode: CreateMode.EphemeralSequential, session: id);

        var result = r.Apply(new CloseSession(r.Header(), id));

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal(1, r.Machine.NodeCount);
        Assert.Equal(4, result.Events.Count(e => e.Type == ChangeEventType.Deleted || e.Type == ChangeEventType.ChildrenChanged));
        Assert.Empty(r.Machine.GetSessions());
    }

    [Fact]
    public void ResetSessionDeadlines_AfterLongPause_GivesEverySessionAFullTtl()
    {
        var r = new Registry();
        var a = r.OpenSession(3_000);
        var b = r.OpenSession(10_000);
        r.Time += 60_000; // e.g. a leader election during which no keep-alive got through

        r.Apply(new ResetSessionDeadlines(r.Header(), r.Time));

        Assert.Empty(r.Apply(new ExpireSessions(r.Header(), r.Time + 2_999)).ExpiredSessions);
        Assert.Equal([a], r.Apply(new ExpireSessions(r.Header(), r.Time + 3_000)).ExpiredSessions);
        Assert.True(r.Machine.TryGetSession(b, out _));
    }
}
