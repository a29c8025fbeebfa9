using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Tests.Acls;

/// <summary>Node ACLs in the state machine: kept, checked for writes that carry a caller, changed by setACL.</summary>
public sealed class AclEnforcementTests
{
    private static readonly AclId Alice = new("digest", "alice:hash");
    private static readonly AclId Local = new("ip", "127.0.0.1");

    // Alice may do everything; anyone may read.
    private static readonly IReadOnlyList<AclEntry> AliceOnly =
        [new AclEntry(AclPerms.All, Alice), new AclEntry(AclPerms.Read, NodeAcl.Anyone)];

    private static Registry WithLockedNode()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/locked", Registry.Bytes("x"), Acl: AliceOnly));
        r.Create("/locked/child");
        return r;
    }

    private static CommandHeader As(Registry r, params AclId[] caller) => r.Header() with { Caller = caller };

    [Fact]
    public void Apply_CallerWithoutTheRight_IsNoAuth_AndChangesNothing()
    {
        var r = WithLockedNode();

        Assert.Equal(ErrorCode.NoAuth, r.Apply(new SetData(As(r, Local), "/locked", Registry.Bytes("y"))).Error);
        Assert.Equal(ErrorCode.NoAuth, r.Apply(new CreateNode(As(r, Local), "/locked/new", default)).Error);
        Assert.Equal(ErrorCode.NoAuth, r.Apply(new DeleteNode(As(r, Local), "/locked/child")).Error);
        // DELETE on the parent is checked before the node is looked up, as ZooKeeper does.
        Assert.Equal(ErrorCode.NoAuth, r.Apply(new DeleteNode(As(r, Local), "/locked/missing")).Error);
        Assert.Equal(ErrorCode.NoAuth, r.Apply(new Transaction(As(r, Local), [new SetAclOp("/locked", null)])).Error);
        Assert.Equal("x", r.Data("/locked"));
        Assert.True(r.Machine.Exists("/locked/child").IsOk);
        Assert.Equal(0, r.Machine.Exists("/locked").Stat.AclVersion);
    }

    [Fact]
    public void Apply_CallerWithTheRight_OrNoCaller_IsAllowed()
    {
        var r = WithLockedNode();

        Assert.True(r.Apply(new SetData(As(r, Local, Alice), "/locked", Registry.Bytes("y"))).IsOk);
        Assert.True(r.Apply(new CreateNode(As(r, Alice), "/locked/new", default)).IsOk);
        // No caller: the HTTP API, which the registry's token policy already allowed.
        Assert.True(r.Apply(new DeleteNode(r.Header(), "/locked/new")).IsOk);
    }

    [Fact]
    public void Apply_CheckOpWithoutRead_IsNoAuth()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/secret", default, Acl: [new AclEntry(AclPerms.All, Alice)]));

        var result = r.Apply(new Transaction(As(r, Local), [new CheckVersionOp("/secret", -1)]));

        Assert.Equal(ErrorCode.NoAuth, result.Error);
        Assert.True(r.Apply(new Transaction(As(r, Alice), [new CheckVersionOp("/secret", -1)])).IsOk);
    }

    [Fact]
    public void Apply_SetAcl_ReplacesTheAcl_BumpsAclVersion_AndChecksIt()
    {
        var r = WithLockedNode();

        Assert.Equal(ErrorCode.BadVersion, r.Apply(new Transaction(As(r, Alice), [new SetAclOp("/locked", null, 3)])).Error);
        var set = r.Apply(new Transaction(As(r, Alice), [new SetAclOp("/locked", null, 0)]));

        Assert.True(set.IsOk);
        Assert.Equal(1, set.OpResults[0].Stat.AclVersion);
        Assert.Null(r.Machine.GetAcl("/locked").Acl);
        Assert.True(r.Apply(new SetData(As(r, Local), "/locked", Registry.Bytes("z"))).IsOk);
    }

    [Fact]
    public void Apply_FailedTransaction_RestoresAclAndAclVersion()
    {
        var r = WithLockedNode();

        r.Apply(new Transaction(r.Header(), [new SetAclOp("/locked", null), new CheckVersionOp("/missing", -1)]));

        var node = r.Machine.GetAcl("/locked");
        Assert.Equal(AliceOnly, node.Acl);
        Assert.Equal(0, node.Stat.AclVersion);
    }

    [Fact]
    public void Apply_CreateParentsWithAnAcl_GivesTheParentsTheSameAcl()
    {
        var r = new Registry();

        r.Apply(new CreateNode(r.Header(), "/a/b/c", default, CreateParents: true, Acl: AliceOnly));

        Assert.Equal(AliceOnly, r.Machine.GetAcl("/a/b").Acl);
        Assert.True(r.Machine.AclsInUse);
    }

    [Fact]
    public void AclsInUse_OnlyOnceANodeHasAnAclOtherThanTheOpenOne()
    {
        var r = new Registry();
        r.Create("/plain");
        r.Apply(new CreateNode(r.Header(), "/open", default, Acl: NodeAcl.OpenEntries));
        r.Apply(new SetData(As(r, Local), "/plain", Registry.Bytes("x")));

        Assert.False(r.Machine.AclsInUse);
        Assert.Null(r.Machine.GetAcl("/open").Acl);
    }
}
