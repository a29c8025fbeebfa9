using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Tree;

/// <summary>Null data (ZooKeeper keeps it apart from empty data) through commands, the tree, undo and snapshots.</summary>
public sealed class NullDataTests
{
    [Fact]
    public void Apply_CreateAndSetWithNullData_ReadBackAsNull_EmptyStaysEmpty()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/null", NodeData.Null));
        r.Apply(new CreateNode(r.Header(), "/empty", Array.Empty<byte>()));
        r.Create("/set", "x");
        r.Apply(new SetData(r.Header(), "/set", NodeData.Null));

        Assert.True(NodeData.IsNull(r.Machine.GetNode("/null").Data));
        Assert.True(NodeData.IsNull(r.Machine.GetNode("/set").Data));
        Assert.False(NodeData.IsNull(r.Machine.GetNode("/empty").Data));
        Assert.Equal(0, r.Machine.GetNode("/set").Stat.DataLength);
    }

    [Fact]
    public void Apply_FailedTransactionOverNullData_RestoresNull()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/n", NodeData.Null));

        r.Apply(new Transaction(r.Header(), [new SetDataOp("/n", Registry.Bytes("x")), new CheckVersionOp("/missing", -1)]));

        Assert.True(NodeData.IsNull(r.Machine.GetNode("/n").Data));
    }

    [Fact]
    public void Decode_CommandsWithNullData_KeepNullApartFromEmpty()
    {
        Command[] commands =
        [
            new CreateNode(CommandHeader.At(1), "/a", NodeData.Null, CreateMode.Ephemeral, 7),
            new SetData(CommandHeader.At(2) with { Quota = new Mesh.Registry.Core.Quotas.Quota("ns", 1, 2, 3) }, "/a", NodeData.Null, 4),
            new Transaction(CommandHeader.At(3), [new CreateOp("/b", Array.Empty<byte>()), new SetDataOp("/a", NodeData.Null), new CreateOp("/c", new byte[] { 1 })]),
        ];
        foreach (var command in commands)
        {
            var bytes = CommandCodec.Encode(command);
            var decoded = CommandCodec.Decode(bytes);
            Assert.Equal(bytes, CommandCodec.Encode(decoded));
            Assert.Equal(DataOf(command).Select(NodeData.IsNull), DataOf(decoded).Select(NodeData.IsNull));
            Assert.Equal(DataOf(command).Select(d => d.ToArray()), DataOf(decoded).Select(d => d.ToArray()));
        }
        Assert.Equal(CommandCodec.NullableDataFormatVersion, CommandCodec.Encode(commands[0])[0]);
        Assert.Equal(CommandCodec.NullableDataQuotaFormatVersion, CommandCodec.Encode(commands[1])[0]);
    }

    [Fact]
    public void Encode_CommandWithoutNullData_KeepsTheFormatOlderNodesRead()
    {
        Assert.Equal(CommandCodec.FormatVersion, CommandCodec.Encode(new CreateNode(CommandHeader.At(1), "/a", Array.Empty<byte>()))[0]);
        Assert.Equal(CommandCodec.FormatVersion, CommandCodec.Encode(new SetData(CommandHeader.At(1), "/a", default))[0]);
    }

    [Fact]
    public void ReadSnapshot_NullAndEmptyData_StayApart_AndAnOlderFormatReadsNullAsEmpty()
    {
        var r = new Registry();
        r.Apply(new CreateNode(r.Header(), "/null", NodeData.Null));
        r.Create("/empty");
        r.Create("/full", "data");

        var stream = new MemoryStream();
        r.Machine.WriteSnapshot(stream);
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(stream.ToArray()));
        Assert.True(NodeData.IsNull(restored.GetNode("/null").Data));
        Assert.False(NodeData.IsNull(restored.GetNode("/empty").Data));
        Assert.Equal("data"u8.ToArray(), restored.GetNode("/full").Data.ToArray());

        var old = new MemoryStream();
        r.Machine.WriteSnapshot(old, 3);
        var fromOld = RegistryStateMachine.ReadSnapshot(new MemoryStream(old.ToArray()));
        Assert.False(NodeData.IsNull(fromOld.GetNode("/null").Data));
        Assert.Equal("data"u8.ToArray(), fromOld.GetNode("/full").Data.ToArray());
    }

    private static IEnumerable<ReadOnlyMemory<byte>> DataOf(Command command) => command switch
    {
        CreateNode c => [c.Data],
        SetData c => [c.Data],
        Transaction t => t.Ops.Select(o => o switch { CreateOp c => c.Data, SetDataOp s => s.Data, _ => default }),
        _ => [],
    };
}
