using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Acls;

/// <summary>
/// ACLs in the command, snapshot and result formats, and the rolling-upgrade rule: until a client
/// uses null data or an ACL, every byte written is in a format the previous release reads
/// (commands 1 to 4, snapshots 1 to 4).
/// </summary>
public sealed class AclFormatTests
{
    private static readonly IReadOnlyList<AclEntry> Digest =
        [new AclEntry(AclPerms.Read | AclPerms.Admin, new AclId("digest", "u:h")), new AclEntry(AclPerms.Read, new AclId("ip", "10.0.0.0/8"))];

    [Fact]
    public void Encode_CommandsWithAclsOrACaller_AreFormat5_AndRoundTrip()
    {
        var quota = new Mesh.Registry.Core.Quotas.Quota("ns", 1, 2, 3);
        Command[] commands =
        [
            new CreateNode(CommandHeader.At(1), "/a", NodeData.Null, CreateMode.Ephemeral, 7, Acl: Digest),
            new SetData(CommandHeader.At(2) with { Caller = [new AclId("ip", "127.0.0.1"), new AclId("digest", "u:h")], Quota = quota }, "/a", Registry.Bytes("x"), 4),
            new Transaction(CommandHeader.At(3), [new CreateOp("/b", default, Acl: Digest), new SetAclOp("/a", Digest, 2), new SetAclOp("/b", null)]),
        ];
        foreach (var command in commands)
        {
            var bytes = CommandCodec.Encode(command);
            var decoded = CommandCodec.Decode(bytes);

            Assert.Equal(CommandCodec.AclFormatVersion, bytes[0]);
            Assert.Equal(bytes, CommandCodec.Encode(decoded));
        }

        var create = (CreateNode)CommandCodec.Decode(CommandCodec.Encode(commands[0]));
        Assert.Equal(Digest, create.Acl);
        Assert.True(NodeData.IsNull(create.Data));
        var set = (SetData)CommandCodec.Decode(CommandCodec.Encode(commands[1]));
        Assert.Equal(commands[1].Header.Caller, set.Header.Caller);
        Assert.Equal(quota, set.Header.Quota);
        var txn = (Transaction)CommandCodec.Decode(CommandCodec.Encode(commands[2]));
        Assert.Equal(new SetAclOp("/a", Digest, 2) with { Acl = ((SetAclOp)txn.Ops[1]).Acl }, txn.Ops[1]);
        Assert.Null(((SetAclOp)txn.Ops[2]).Acl);
    }

    [Fact]
    public void Encode_CommandsWithTheOpenAclAndNoCaller_KeepTheOlderFormats()
    {
        Assert.Equal(CommandCodec.FormatVersion, CommandCodec.Encode(new CreateNode(CommandHeader.At(1), "/a", default, Acl: NodeAcl.OpenEntries))[0]);
        Assert.Equal(CommandCodec.FormatVersion, CommandCodec.Encode(new Transaction(CommandHeader.At(1), [new CreateOp("/a", default)]))[0]);
    }

    [Theory]
    [InlineData(new byte[] { 5, 4, 1 }, "unknown command features 4")]
    [InlineData(new byte[] { 5, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 1 }, "caller identity count 200")]
    public void Decode_BadFormat5Commands_ExplainWhatIsWrong(byte[] bytes, string message) =>
        Assert.Contains(message, Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);

    [Fact]
    public void WriteSnapshot_WritesTheLowestFormatThatHoldsTheState()
    {
        var r = new Registry();
        r.OpenSession();
        r.Create("/plain", "x");
        Assert.Equal(3, Format(r));

        r.Apply(new CreateNode(r.Header(), "/null", NodeData.Null));
        Assert.Equal(4, Format(r));

        r.Apply(new CreateNode(r.Header(), "/acl", default, Acl: Digest));
        Assert.Equal(5, Format(r));

        r.Apply(new CreateNode(r.Header(), "/box", default, CreateMode.Container));
        Assert.Equal(RegistryStateMachine.SnapshotFormatVersion, Format(r));
    }

    [Fact]
    public void WriteSnapshot_WithoutNullDataOrAcls_IsByteForByteTheFormatThePreviousReleaseWrote()
    {
        var r = new Registry();
        var session = r.OpenSession();
        r.Create("/a/b", "x", parents: true);
        r.Create("/e", "y", CreateMode.Ephemeral, session);
        r.Apply(new SetData(r.Header() with { Caller = [new AclId("ip", "127.0.0.1")] }, "/a", Registry.Bytes("z")));

        using var current = new MemoryStream();
        using var previous = new MemoryStream();
        r.Machine.WriteSnapshot(current);
        r.Machine.WriteSnapshot(previous, 3);

        Assert.Equal(previous.ToArray(), current.ToArray());
    }

    [Fact]
    public void ReadSnapshot_Format5_RestoresAclsAclVersionsAndAclsInUse()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/acl", default, Acl: Digest));
        r.Create("/acl/open");
        r.Create("/reset");
        r.Apply(new Transaction(r.Header(), [new SetAclOp("/reset", Digest), new SetAclOp("/reset", null)]));
        r.Apply(new CreateNode(r.Header() with { ClientId = Guid.NewGuid(), Sequence = 1 }, "/dedup", default));

        using var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(stream.ToArray()));

        Assert.Equal(Digest, restored.GetAcl("/acl").Acl);
        Assert.Null(restored.GetAcl("/acl/open").Acl);
        Assert.Null(restored.GetAcl("/reset").Acl);
        Assert.Equal(2, restored.Exists("/reset").Stat.AclVersion);
        Assert.True(restored.AclsInUse);
        using var again = new MemoryStream();
        restored.WriteSnapshot(again);
        Assert.Equal(stream.ToArray(), again.ToArray());
    }

    [Fact]
    public void ReadSnapshot_AnOlderFormat_ReadsEveryAclAsTheOpenOne()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/acl", default, Acl: Digest));

        using var old = new MemoryStream();
        r.Machine.WriteSnapshot(old, 4);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(old.ToArray()));

        Assert.Null(restored.GetAcl("/acl").Acl);
        Assert.False(restored.AclsInUse);
    }

    [Fact]
    public void ApplyResultCodec_AclVersions_RoundTrip_AndWithoutThemTheBytesAreUnchanged()
    {
        var plain = new ApplyResult { Index = 5, Path = "/a", Stat = new NodeStat(1, 2, 3, 4, 5, 6, 0, 7, 8, 9) };
        var withAcl = plain with { Stat = plain.Stat with { AclVersion = 3 }, OpResults = [new OpResult(ErrorCode.Ok, "/b", new NodeStat(0, 0, 0, 0, 0, 0, 0, 0, 0, AclVersion: 4))] };

        var decoded = ApplyResultCodec.Decode(ApplyResultCodec.Encode(withAcl));

        Assert.Equal(3, decoded.Stat.AclVersion);
        Assert.Equal(4, decoded.OpResults[0].Stat.AclVersion);
        Assert.Equal(plain.Stat, ApplyResultCodec.Decode(ApplyResultCodec.Encode(plain)).Stat);
        Assert.True(ApplyResultCodec.Encode(withAcl).Length > ApplyResultCodec.Encode(withAcl with { Stat = plain.Stat, OpResults = [new OpResult(ErrorCode.Ok, "/b", default)] }).Length);
    }

    private static int Format(Registry r)
    {
        using var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        return stream.ToArray()[8];
    }
}
