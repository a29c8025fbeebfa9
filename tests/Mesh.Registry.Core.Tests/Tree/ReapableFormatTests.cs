using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Tree;

/// <summary>
/// Container and TTL nodes in the command, snapshot and result formats, and the rolling-upgrade
/// rule: only a command that makes one is format 6, and only a state that holds one (or a result
/// kept for replay that shows one) is snapshot format 6; everything else stays readable by the
/// release before.
/// </summary>
public sealed class ReapableFormatTests
{
    [Fact]
    public void Encode_CreatesOfContainersAndTtlNodes_AreFormat6_AndRoundTrip()
    {
        Command[] commands =
        [
            new CreateNode(CommandHeader.At(1), "/box", Registry.Bytes("d"), CreateMode.Container),
            new CreateNode(CommandHeader.At(2) with { Quota = new Mesh.Registry.Core.Quotas.Quota("ns", 1, 2, 3) }, "/t-", NodeData.Null, CreateMode.PersistentSequentialWithTtl, TtlMs: NodeReaping.MaxTtlMs),
            new Transaction(CommandHeader.At(3), [new CreateOp("/a", default, CreateMode.PersistentWithTtl, TtlMs: 5, Acl: [new AclEntry(AclPerms.All, new AclId("ip", "10.0.0.1"))]), new DeleteOp("/b")]),
            new CreateNode(CommandHeader.At(4), "/odd", default, CreateMode.Persistent, TtlMs: 7),
        ];
        foreach (var command in commands)
        {
            var bytes = CommandCodec.Encode(command);
            var decoded = CommandCodec.Decode(bytes);

            Assert.Equal(CommandCodec.ExtendedModeFormatVersion, bytes[0]);
            Assert.Equal(bytes, CommandCodec.Encode(decoded));
        }

        var ttl = (CreateNode)CommandCodec.Decode(CommandCodec.Encode(commands[1]));
        Assert.Equal((CreateMode.PersistentSequentialWithTtl, NodeReaping.MaxTtlMs), (ttl.Mode, ttl.TtlMs));
        Assert.True(NodeData.IsNull(ttl.Data));
        var op = (CreateOp)((Transaction)CommandCodec.Decode(CommandCodec.Encode(commands[2]))).Ops[0];
        Assert.Equal((CreateMode.PersistentWithTtl, 5L), (op.Mode, op.TtlMs));
        // A TTL on a mode without one is kept, so replicas refuse it as the leader did.
        Assert.Equal(7, ((CreateNode)CommandCodec.Decode(CommandCodec.Encode(commands[3]))).TtlMs);
    }

    [Fact]
    public void Encode_CreatesOfOtherModes_KeepTheOlderFormats()
    {
        Assert.Equal(CommandCodec.FormatVersion, CommandCodec.Encode(new CreateNode(CommandHeader.At(1), "/a", default, CreateMode.Sequential))[0]);
        Assert.Equal(CommandCodec.AclFormatVersion, CommandCodec.Encode(new CreateNode(CommandHeader.At(1) with { Caller = [] }, "/a", default))[0]);
    }

    [Fact]
    public void Decode_AContainerInAnOlderFormat_IsRefusedNotMisread()
    {
        // Format 5: features 0, create, header, path "/b", data null, mode 4, session 0, flags 0, no ACL.
        byte[] bytes = [5, 0, 1, .. new byte[16], 0, 0, 2, (byte)'/', (byte)'b', 0, 4, 0, 0, 0];

        Assert.Contains("unknown create mode 4", Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void EncodeDecode_ReapNodes_RoundTrips()
    {
        var command = new ReapNodes(CommandHeader.At(9), [new ReapCandidate("/a", 3, 0, 2), new ReapCandidate("/b/c", 1_000_000, 4, 0)]);

        var decoded = (ReapNodes)CommandCodec.Decode(CommandCodec.Encode(command));

        Assert.Equal(command.Nodes, decoded.Nodes);
        Assert.Equal(command.Header, decoded.Header);
    }

    [Fact]
    public void Decode_ReapNodesCountBeyondTheBytes_ExplainsWhatIsWrong()
    {
        var bytes = CommandCodec.Encode(new ReapNodes(CommandHeader.At(1), []));
        bytes[^1] = 100;

        Assert.Contains("reaped node count 100", Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void ReadSnapshot_Format6_RestoresKindsAndTtls_AndTheReaperFindsThemAgain()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/box", default, CreateMode.Container));
        r.Create("/box/x");
        r.Delete("/box/x");
        r.Apply(new CreateNode(r.Header(), "/t", default, CreateMode.PersistentWithTtl, TtlMs: 50));
        r.Apply(new CreateNode(r.Header() with { ClientId = Guid.NewGuid(), Sequence = 1 }, "/dedup", default, CreateMode.PersistentWithTtl, TtlMs: 9));

        using var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(stream.ToArray()));

        Assert.Equal(6, stream.ToArray()[8]);
        Assert.Equal((NodeKind.Container, 0L), (restored.Exists("/box").Stat.Kind, restored.Exists("/box").Stat.TtlMs));
        Assert.Equal((NodeKind.Ttl, 50L), (restored.Exists("/t").Stat.Kind, restored.Exists("/t").Stat.TtlMs));
        Assert.Equal(3, restored.ReapableCount);
        Assert.Equal(
            r.Machine.FindReapable(r.Time + 100, null, 10, 10).Due,
            restored.FindReapable(r.Time + 100, null, 10, 10).Due);
        using var again = new MemoryStream();
        restored.WriteSnapshot(again);
        Assert.Equal(stream.ToArray(), again.ToArray());
    }

    [Fact]
    public void WriteSnapshot_OnceTheLastContainerIsGone_GoesBackToTheOlderFormat()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/box", default, CreateMode.Container));
        Assert.Equal(6, Format(r));

        r.Delete("/box");

        Assert.Equal(3, Format(r));
    }

    [Fact]
    public void ReadSnapshot_AnOlderFormat_ReadsContainersAsPlainNodes()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/box", default, CreateMode.Container));

        using var old = new MemoryStream();
        r.Machine.WriteSnapshot(old, 5);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(old.ToArray()));

        Assert.Equal(NodeKind.Plain, restored.Exists("/box").Stat.Kind);
        Assert.Equal(0, restored.ReapableCount);
    }

    [Fact]
    public void ApplyResultCodec_Kinds_RoundTrip_AndWithoutThemTheBytesAreUnchanged()
    {
        var plain = new ApplyResult { Index = 5, Path = "/a", Stat = new NodeStat(1, 2, 3, 4, 5, 6, 0, 7, 8, 9) };
        var ttl = plain with { Stat = plain.Stat with { Kind = NodeKind.Ttl, TtlMs = 77 }, OpResults = [new OpResult(ErrorCode.Ok, "/b", new NodeStat(0, 0, 0, 0, 0, 0, 0, 0, 0, AclVersion: 2, Kind: NodeKind.Container))] };

        var decoded = ApplyResultCodec.Decode(ApplyResultCodec.Encode(ttl));

        Assert.Equal(ttl.Stat, decoded.Stat);
        Assert.Equal(ttl.OpResults[0].Stat, decoded.OpResults[0].Stat);
        var plainBytes = ApplyResultCodec.Encode(plain);
        Assert.Equal(plain.Stat, ApplyResultCodec.Decode(plainBytes).Stat);
        Assert.True(ApplyResultCodec.Encode(ttl).Length > plainBytes.Length + 2);
    }

    private static int Format(Registry r)
    {
        using var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        return stream.ToArray()[8];
    }
}
