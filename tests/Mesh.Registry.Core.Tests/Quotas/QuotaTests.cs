using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Quotas;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Quotas;

public sealed class QuotaTests
{
    private static readonly Quota Shop = new("shop", MaxNodes: 3, MaxBytes: 10, MaxSessions: 2);

    private static CommandHeader Quoted(Registry r, Quota quota) => r.Header() with { Quota = quota };

    [Fact]
    public void Create_OverNodeQuota_FailsAndChangesNothing()
    {
        var r = new Registry();
        for (var i = 0; i < 3; i++)
            Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(Quoted(r, Shop), $"/n{i}", default)).Error);
        var before = Model.Scenario.Observe(r.Machine);

        var refused = r.Apply(new CreateNode(Quoted(r, Shop), "/n3", default));

        Assert.Equal(ErrorCode.NodeQuotaExceeded, refused.Error);
        Assert.Empty(refused.Events);
        Assert.Equal(before, Model.Scenario.Observe(r.Machine));
        Assert.Equal(new QuotaUsage(3, 0, 0), r.Machine.UsageOf("shop"));
        // Another owner, and writes without a quota, are not affected.
        Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(Quoted(r, Shop with { Owner = "bench" }), "/b", default)).Error);
        Assert.Equal(ErrorCode.Ok, r.Create("/admin").Error);
    }

    [Fact]
    public void CreateWithParents_CountsTheParentsItCreates()
    {
        var r = new Registry();
        var refused = r.Apply(new CreateNode(Quoted(r, Shop), "/a/b/c/d", default, CreateParents: true));
        Assert.Equal(ErrorCode.NodeQuotaExceeded, refused.Error);
        Assert.Equal(ErrorCode.NoNode, r.Machine.Exists("/a").Error);
        Assert.Equal(default, r.Machine.UsageOf("shop"));
    }

    [Fact]
    public void SetData_OverByteQuota_FailsAndKeepsTheOldData()
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.Ok, r.Apply(new CreateNode(Quoted(r, Shop), "/a", Registry.Bytes("12345"))).Error);
        var refused = r.Apply(new SetData(Quoted(r, Shop), "/a", Registry.Bytes("12345678901")));
        Assert.Equal(ErrorCode.ByteQuotaExceeded, refused.Error);
        Assert.Equal("12345", r.Data("/a"));
        Assert.Equal(0, r.Machine.GetNode("/a").Stat.Version);
        Assert.Equal(new QuotaUsage(1, 5, 0), r.Machine.UsageOf("shop"));

        // Shrinking is always allowed, and an admin's write to the node still counts against its owner.
        Assert.Equal(ErrorCode.Ok, r.Set("/a", "1").Error);
        Assert.Equal(new QuotaUsage(1, 1, 0), r.Machine.UsageOf("shop"));
    }

    [Fact]
    public void Transaction_OverQuota_NamesTheOpAndRollsBackAll()
    {
        var r = new Registry();
        var ops = Enumerable.Range(0, 100).Select(i => (TxnOp)new CreateOp($"/n{i}", default)).ToArray();
        var result = r.Apply(new Transaction(Quoted(r, Shop), ops));
        Assert.Equal(ErrorCode.NodeQuotaExceeded, result.Error);
        Assert.Equal(3, result.FailedOp);
        Assert.Equal(1, r.Machine.NodeCount); // only the root is left
        Assert.Equal(default, r.Machine.UsageOf("shop"));
    }

    [Fact]
    public void OpenSession_OverSessionQuota_Fails_AndEndedSessionsFreeTheirPlace()
    {
        var r = new Registry();
        var first = r.Apply(new OpenSession(Quoted(r, Shop), 10_000)).SessionId;
        r.Apply(new OpenSession(Quoted(r, Shop), 10_000));
        Assert.Equal(ErrorCode.SessionQuotaExceeded, r.Apply(new OpenSession(Quoted(r, Shop), 10_000)).Error);
        Assert.Equal(2, r.Machine.GetSessions().Count);

        r.Apply(new CloseSession(r.Header(), first));
        Assert.Equal(ErrorCode.Ok, r.Apply(new OpenSession(Quoted(r, Shop), 10_000)).Error);
        Assert.Equal(2, r.Machine.UsageOf("shop").Sessions);
    }

    [Fact]
    public void Delete_And_SessionExpiry_GiveTheQuotaBack()
    {
        var r = new Registry();
        var session = r.Apply(new OpenSession(Quoted(r, Shop), 1_000)).SessionId;
        r.Apply(new CreateNode(Quoted(r, Shop), "/p", Registry.Bytes("ab")));
        r.Apply(new CreateNode(Quoted(r, Shop), "/p/e", Registry.Bytes("cd"), CreateMode.Ephemeral, session));
        Assert.Equal(new QuotaUsage(2, 4, 1), r.Machine.UsageOf("shop"));

        r.Apply(new ExpireSessions(r.Header(), r.Time + 5_000));
        Assert.Equal(new QuotaUsage(1, 2, 0), r.Machine.UsageOf("shop"));
        r.Delete("/p");
        Assert.Equal(default, r.Machine.UsageOf("shop"));
    }

    [Fact]
    public void Snapshot_WithOwners_RestoresUsage_AndFormatVersion1WithoutOwners_IsStillRead()
    {
        var plain = new Registry();
        plain.Create("/a", "x");
        using var plainBytes = new MemoryStream();
        plain.Machine.WriteSnapshot(plainBytes, 1);
        Assert.Equal(1, plainBytes.ToArray()[8]); // the varint after "MESHSNAP"
        plainBytes.Position = 0;
        Assert.Equal("x", System.Text.Encoding.UTF8.GetString(RegistryStateMachine.ReadSnapshot(plainBytes).GetNode("/a").Data.Span));

        var r = new Registry();
        r.Apply(new OpenSession(Quoted(r, Shop), 10_000));
        r.Apply(new CreateNode(Quoted(r, Shop), "/s/x", Registry.Bytes("abc"), CreateParents: true));
        r.Create("/admin", "zz");
        using var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        // The lowest format that holds owners and no null data or ACLs.
        Assert.Equal(3, stream.ToArray()[8]);
        stream.Position = 0;
        var restored = RegistryStateMachine.ReadSnapshot(stream);

        Assert.Equal(new QuotaUsage(2, 3, 1), restored.UsageOf("shop"));
        using var again = new MemoryStream();
        restored.WriteSnapshot(again);
        Assert.Equal(stream.ToArray(), again.ToArray());
        // The restored machine keeps enforcing: one node left under MaxNodes 3.
        Assert.Equal(ErrorCode.Ok, restored.Apply(r.Index + 1, new CreateNode(Quoted(r, Shop), "/s/y", default)).Error);
        Assert.Equal(ErrorCode.NodeQuotaExceeded, restored.Apply(r.Index + 2, new CreateNode(Quoted(r, Shop), "/s/z", default)).Error);
    }

    [Fact]
    public void Codec_CommandWithQuota_RoundTrips_AndWithoutQuota_IsFormatVersion1()
    {
        var header = new CommandHeader(Guid.NewGuid(), 7, 123) { Quota = Shop };
        var bytes = CommandCodec.Encode(new CreateNode(header, "/a", Registry.Bytes("x")));
        Assert.Equal(CommandCodec.QuotaFormatVersion, bytes[0]);
        var decoded = Assert.IsType<CreateNode>(CommandCodec.Decode(bytes));
        Assert.Equal(Shop, decoded.Header.Quota);
        Assert.Equal(header, decoded.Header);

        var plain = CommandCodec.Encode(new CreateNode(header with { Quota = null }, "/a", Registry.Bytes("x")));
        Assert.Equal(CommandCodec.FormatVersion, plain[0]);
        Assert.Null(CommandCodec.Decode(plain).Header.Quota);
    }
}
