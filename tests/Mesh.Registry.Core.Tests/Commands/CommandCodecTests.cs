using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tests.Model;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Commands;

public sealed class CommandCodecTests
{
    [Property(MaxTest = 100)]
    public Property Decode_EncodedRandomCommand_GivesAnEqualCommand() =>
        Prop.ForAll(Scenario.Steps, steps =>
        {
            foreach (var (_, command) in Scenario.Build(steps))
            {
                var bytes = CommandCodec.Encode(command);
                var decoded = CommandCodec.Decode(bytes);
                Assert.Equal(Describe(command), Describe(decoded));
                Assert.Equal(bytes, CommandCodec.Encode(decoded));
            }
        });

    [Fact]
    public void Decode_MultiSegmentSequence_ReadsTheCommand()
    {
        var command = new CreateNode(new CommandHeader(Guid.NewGuid(), 9, 1234), "/a/b", new byte[] { 1, 2, 3 }, CreateMode.EphemeralSequential, 77, true);
        var bytes = CommandCodec.Encode(command);
        var first = new Segment(bytes.AsMemory(0, 5));
        var last = first.Append(bytes.AsMemory(5));

        var decoded = CommandCodec.Decode(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));

        Assert.Equal(Describe(command), Describe(decoded));
    }

    [Fact]
    public void Encode_ToBufferWriter_MatchesByteArray()
    {
        var command = new SetData(CommandHeader.At(-5), "/x", new byte[] { 9 }, 3);
        var writer = new ArrayBufferWriter<byte>();
        CommandCodec.Encode(command, writer);
        Assert.Equal(CommandCodec.Encode(command), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Decode_EveryTruncation_IsACommandFormatException()
    {
        var bytes = CommandCodec.Encode(new Transaction(new CommandHeader(Guid.NewGuid(), 1, 2),
            [new CheckVersionOp("/a", 1), new CreateOp("/a/b", new byte[] { 1, 2 }), new SetDataOp("/a", default), new DeleteOp("/c", -1, true)]));

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes.AsSpan(0, length)));
        }
    }

    [Property(MaxTest = 2000)]
    public void Decode_RandomBytes_EitherDecodesOrThrowsCommandFormatException(byte[] garbage, byte kind)
    {
        var bytes = new byte[garbage.Length + 2];
        bytes[0] = CommandCodec.FormatVersion;
        bytes[1] = (byte)(kind % 11);
        garbage.CopyTo(bytes, 2);
        try
        {
            CommandCodec.Decode(bytes);
        }
        catch (CommandFormatException)
        {
        }
    }

    [Theory]
    [InlineData(new byte[] { 7, 1 }, "unsupported command format version 7")]
    [InlineData(new byte[] { 1, 200 }, "command truncated")]
    [InlineData(new byte[] { 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 15 }, "transaction op count")]
    [InlineData(new byte[] { 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, "longer than 64 bits")]
    [InlineData(new byte[] { 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 }, "unexpected bytes")]
    public void Decode_Garbage_ExplainsWhatIsWrong(byte[] bytes, string message)
    {
        var e = Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Decode_UnknownKind_ExplainsWhatIsWrong()
    {
        var bytes = CommandCodec.Encode(new KeepAlive(CommandHeader.At(0), 1));
        bytes[1] = 99;
        Assert.Contains("unknown command kind 99", Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void Encode_SessionCommand_IsCompact() =>
        Assert.Equal(2 + 16 + 1 + 6 + 1, CommandCodec.Encode(new KeepAlive(new CommandHeader(Guid.NewGuid(), 0, 1_764_080_000_000), 12)).Length);

    [Fact]
    public void Encode_KeepAliveMany_IsItsOwnKindWithACountAndAVarintPerId()
    {
        var bytes = CommandCodec.Encode(new KeepAliveMany(CommandHeader.At(1_764_080_000_000), [12, 300, 12]));

        Assert.Equal(CommandCodec.FormatVersion, bytes[0]);
        Assert.Equal(10, bytes[1]); // a new kind: a build without it refuses the entry ("unknown command kind 10")
        Assert.Equal(2 + 16 + 1 + 6 + 1 + 1 + 2 + 1, bytes.Length);
        Assert.Equal([12L, 300L, 12L], Assert.IsType<KeepAliveMany>(CommandCodec.Decode(bytes)).SessionIds);
    }

    [Fact]
    public void Decode_KeepAliveManyAsASingleKeepAlive_IsRefusedNotMisread()
    {
        var bytes = CommandCodec.Encode(new KeepAliveMany(CommandHeader.At(0), [7, 8]));
        bytes[1] = 6; // what a reader that took it for a KeepAlive would see

        Assert.Contains("unexpected bytes", Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void Decode_KeepAliveManyCountBeyondTheBytes_ExplainsWhatIsWrong()
    {
        var bytes = CommandCodec.Encode(new KeepAliveMany(CommandHeader.At(0), [7]));
        bytes[^2] = 0x7f; // the count: 127 ids promised, one byte left

        Assert.Contains("keep-alive session count 127", Assert.Throws<CommandFormatException>(() => CommandCodec.Decode(bytes)).Message);
    }

    // Records compare memory by reference; describe them with data as hex instead.
    private static string Describe(Command c) => c switch
    {
        CreateNode x => $"{x with { Data = default }} {Convert.ToHexString(x.Data.Span)}",
        SetData x => $"{x with { Data = default }} {Convert.ToHexString(x.Data.Span)}",
        Transaction x => $"{x.Header} [{string.Join("; ", x.Ops.Select(Describe))}]",
        KeepAliveMany x => $"{x.Header} [{string.Join(", ", x.SessionIds)}]",
        _ => c.ToString(),
    };

    private static string Describe(TxnOp op) => op switch
    {
        CreateOp x => $"{x with { Data = default }} {Convert.ToHexString(x.Data.Span)}",
        SetDataOp x => $"{x with { Data = default }} {Convert.ToHexString(x.Data.Span)}",
        _ => op.ToString(),
    };

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
