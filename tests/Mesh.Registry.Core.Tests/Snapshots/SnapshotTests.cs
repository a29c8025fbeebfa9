using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Snapshots;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Snapshots;

public sealed class SnapshotTests
{
    [Fact]
    public void ReadSnapshot_OfWrittenState_RestoresEverything()
    {
        var r = Sample();
        var bytes = Write(r.Machine);

        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(bytes));

        Assert.Equal(Model.Scenario.Observe(r.Machine), Model.Scenario.Observe(restored));
        Assert.Equal(r.Machine.AppliedIndex, restored.AppliedIndex);
        Assert.Equal(bytes, Write(restored));
    }

    [Fact]
    public void ReadSnapshot_FromAStreamThatGivesOneByteAtATime_RestoresEverything()
    {
        // Every varint is split across reads, so the reader must buffer until each is whole.
        var bytes = Write(Sample().Machine);

        var restored = RegistryStateMachine.ReadSnapshot(new OneByteAtATime(bytes));

        Assert.Equal(bytes, Write(restored));
    }

    private sealed class OneByteAtATime(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);
    }

    [Fact]
    public void ReadSnapshot_RestoredSession_StillOwnsItsEphemerals()
    {
        var r = Sample();
        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(Write(r.Machine)));

        var result = restored.Apply(r.Index + 1, new CloseSession(r.Header(), restored.GetSessions()[0].Id));

        Assert.Equal(Core.Results.ErrorCode.NoNode, restored.Exists("/svc/i-0000000001").Error);
        Assert.Contains(result.Events, e => e.Path == "/svc/i-0000000001");
    }

    [Fact]
    public void WriteSnapshot_SameCommandsOnTwoMachines_GivesIdenticalBytes() =>
        Assert.Equal(Write(Sample().Machine), Write(Sample().Machine));

    [Fact]
    public void ReadSnapshot_EveryTruncation_IsRefusedAsTruncated()
    {
        var bytes = Write(Sample().Machine);
        for (var length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<SnapshotFormatException>(() => RegistryStateMachine.ReadSnapshot(new MemoryStream(bytes, 0, length)));
            Assert.Matches("truncated|corrupted|not a Mesh registry snapshot", e.Message);
        }
    }

    [Fact]
    public void ReadSnapshot_AnyFlippedBit_IsRefused()
    {
        var bytes = Write(Sample().Machine);
        for (var i = 0; i < bytes.Length; i++)
        {
            var corrupted = (byte[])bytes.Clone();
            corrupted[i] ^= (byte)(1 << (i % 8));
            Assert.ThrowsAny<FormatException>(() => RegistryStateMachine.ReadSnapshot(new MemoryStream(corrupted)));
        }
    }

    [Fact]
    public void ReadSnapshot_CorruptedData_NamesTheChecksum()
    {
        var bytes = Write(Sample().Machine);
        var at = bytes.AsSpan().IndexOf("hello"u8);
        bytes[at] = (byte)'j';

        var e = Assert.Throws<SnapshotFormatException>(() => RegistryStateMachine.ReadSnapshot(new MemoryStream(bytes)));

        Assert.Contains("checksum mismatch", e.Message);
    }

    [Fact]
    public void ReadSnapshot_TrailingBytes_IsRefused()
    {
        var bytes = Write(Sample().Machine);
        var e = Assert.Throws<SnapshotFormatException>(() => RegistryStateMachine.ReadSnapshot(new MemoryStream([.. bytes, 0])));
        Assert.Contains("after the end marker", e.Message);
    }

    [Fact]
    public void ReadSnapshot_NotASnapshot_SaysSo()
    {
        var e = Assert.Throws<SnapshotFormatException>(() => RegistryStateMachine.ReadSnapshot(new MemoryStream("{\"json\": true}"u8.ToArray())));
        Assert.Contains("not a Mesh registry snapshot", e.Message);
    }

    [Fact]
    public void WriteSnapshot_LargeData_RoundTrips()
    {
        var r = new Registry();
        var big = new byte[NodeLimits.MaxDataBytes];
        new Random(1).NextBytes(big);
        r.Apply(new CreateNode(r.Header(), "/big", big));

        var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(Write(r.Machine)));

        Assert.Equal(big, restored.GetNode("/big").Data.ToArray());
    }

    private static Registry Sample()
    {
        var r = new Registry();
        r.Create("/svc/a", "hello", parents: true);
        var session = r.OpenSession(5_000);
        r.Create("/svc/i-", "x", CreateMode.EphemeralSequential, session);
        r.Set("/svc/a", "hello again");
        r.Apply(new CreateNode(new CommandHeader(new Guid("00000000-0000-0000-0000-0000000000aa"), 1, r.Time), "/c", default));
        r.Apply(new Transaction(new CommandHeader(new Guid("00000000-0000-0000-0000-0000000000bb"), 1, r.Time),
            [new CreateOp("/t", default), new CheckVersionOp("/nope", 0)]));
        return r;
    }

    private static byte[] Write(RegistryStateMachine machine)
    {
        var stream = new MemoryStream();
        machine.WriteSnapshot(stream);
        return stream.ToArray();
    }
}
