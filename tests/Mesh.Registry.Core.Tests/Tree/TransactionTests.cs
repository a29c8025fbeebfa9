using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Tree;

public sealed class TransactionTests
{
    [Fact]
    public void Transaction_AllOpsSucceed_AppliesAllWithPerOpResults()
    {
        var r = new Registry();
        r.Create("/a", "1");
        r.Create("/c");
        var result = r.Apply(new Transaction(r.Header(),
        [
            new CheckVersionOp("/a", 0),
            new CreateOp("/a/b", Registry.Bytes("hi")),
            new SetDataOp("/a", Registry.Bytes("2"), 0),
            new DeleteOp("/c"),
            new CreateOp("/a/s-", default, CreateMode.Sequential),
        ]));

        Assert.Equal(ErrorCode.Ok, result.Error);
        Assert.Equal(-1, result.FailedOp);
        Assert.Equal(["/a", "/a/b", "/a", "/c", "/a/s-0000000001"], result.OpResults.Select(o => o.Path));
        Assert.All(result.OpResults, o => Assert.Equal(ErrorCode.Ok, o.Error));
        Assert.Equal(1, result.OpResults[2].Stat.Version);
        Assert.Equal("2", r.Data("/a"));
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/c").Error);
        Assert.All(result.Events, e => Assert.Equal(r.Index, e.Index));
    }

    [Fact]
    public void Transaction_OneOpFails_NothingAppliedAndOthersRolledBack()
    {
        var r = new Registry();
        r.Create("/a", "1");
        var session = r.OpenSession();
        var before = Model.Scenario.Observe(r.Machine);

        var result = r.Apply(new Transaction(r.Header(),
        [
            new CreateOp("/a/b/c", Registry.Bytes("x"), CreateMode.Persistent, 0, CreateParents: true),
            new SetDataOp("/a", Registry.Bytes("2")),
            new CreateOp("/e", default, CreateMode.Ephemeral, session),
            new DeleteOp("/a", Recursive: true),
            new CheckVersionOp("/a", 5),
            new CreateOp("/z", default),
        ]));

        Assert.Equal(ErrorCode.NoNode, result.Error);
        Assert.Equal(4, result.FailedOp);
        Assert.Equal(
            [ErrorCode.RolledBack, ErrorCode.RolledBack, ErrorCode.RolledBack, ErrorCode.RolledBack, ErrorCode.NoNode, ErrorCode.RolledBack],
            result.OpResults.Select(o => o.Error));
        Assert.Empty(result.Events);
        Assert.Equal(before, Model.Scenario.Observe(r.Machine));
        Assert.True(r.Machine.TryGetSession(session, out var s));
        Assert.Equal(0, s.EphemeralCount);
    }

    [Fact]
    public void Transaction_CheckVersionMismatch_IsBadVersion()
    {
        var r = new Registry();
        r.Create("/a");
        var result = r.Apply(new Transaction(r.Header(), [new CheckVersionOp("/a", 1), new SetDataOp("/a", default)]));

        Assert.Equal(ErrorCode.BadVersion, result.Error);
        Assert.Equal(0, result.FailedOp);
        Assert.Equal(0, r.Machine.GetNode("/a").Stat.Version);
    }
}
