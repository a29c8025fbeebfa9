using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Dedup;

public sealed class IdempotencyTests
{
    private static readonly Guid Client = new("6f9619ff-8b86-d011-b42d-00cf4fc964ff");

    [Fact]
    public void Apply_RetryWithSameClientAndSequence_ReturnsOriginalResultWithoutApplyingTwice()
    {
        var r = new Registry();
        var header = new CommandHeader(Client, 1, r.Time);
        var first = r.Apply(new CreateNode(header, "/q/item-", default, CreateMode.Sequential, 0, true));
        var retry = r.Apply(new CreateNode(header, "/q/item-", default, CreateMode.Sequential, 0, true));

        Assert.Equal("/q/item-0000000000", retry.Path);
        Assert.Equal(first.Index, retry.Index);
        Assert.Equal(first.Stat, retry.Stat);
        Assert.True(retry.IsReplay);
        Assert.Empty(retry.Events);
        Assert.Single(r.Machine.GetChildren("/q").Children);
        Assert.Equal(2, r.Machine.AppliedIndex);
    }

    [Fact]
    public void Apply_RetriedOpenSession_ReturnsTheSameSession()
    {
        var r = new Registry();
        var header = new CommandHeader(Client, 7, r.Time);
        var first = r.Apply(new OpenSession(header, 5_000));
        var retry = r.Apply(new OpenSession(header, 5_000));

        Assert.Equal(first.SessionId, retry.SessionId);
        Assert.Single(r.Machine.GetSessions());
    }

    [Fact]
    public void Apply_RetryAfterSnapshotRestore_StillReturnsOriginalResult()
    {
        var r = new Registry();
        var header = new CommandHeader(Client, 3, r.Time);
        var first = r.Apply(new SetData(header, "/missing", default));
        var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(stream.ToArray()));

        var retry = restored.Apply(2, new SetData(header, "/missing", default));

        Assert.Equal(ErrorCode.NoNode, retry.Error);
        Assert.Equal(first.Index, retry.Index);
        Assert.True(retry.IsReplay);
    }

    [Fact]
    public void Apply_OlderSequence_IsStaleRequestAndNotApplied()
    {
        var r = new Registry();
        r.Apply(new CreateNode(new CommandHeader(Client, 5, r.Time), "/a", default));
        var stale = r.Apply(new CreateNode(new CommandHeader(Client, 4, r.Time), "/b", default));

        Assert.Equal(ErrorCode.StaleRequest, stale.Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/b").Error);
    }

    [Fact]
    public void ExpireSessions_ClientIdleOverAnHour_ForgetsItsEntry()
    {
        var r = new Registry();
        var header = new CommandHeader(Client, 1, r.Time);
        r.Apply(new CreateNode(header, "/a", default));
        r.Apply(new DeleteNode(CommandHeader.At(r.Time), "/a"));

        r.Apply(new ExpireSessions(CommandHeader.At(r.Time), r.Time + 3_600_001));
        var late = r.Apply(new CreateNode(header, "/a", default));

        Assert.False(late.IsReplay);
        Assert.Equal(ErrorCode.Ok, late.Error);
    }
}
