using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Tests.Jute;

public sealed class JuteCodecTests
{
    private static readonly Stat SampleStat = new(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);

    [Fact]
    public void Primitives_AreBigEndian_WithMinusOneForNull()
    {
        var bytes = new JuteWriter().Int(1).Long(-2).Bool(true).String(null).Buffer((byte[]?)null).String("é").ToRecord();
        Assert.Equal(
            Convert.FromHexString("00000001" + "FFFFFFFFFFFFFFFE" + "01" + "FFFFFFFF" + "FFFFFFFF" + "00000002C3A9"),
            bytes);
    }

    [Fact]
    public void ToFrame_PrefixesTheRecordLength()
    {
        var frame = new JuteWriter().Int(7).ToFrame();
        Assert.Equal(Convert.FromHexString("00000004" + "00000007"), frame);
    }

    [Fact]
    public void Stat_IsSixtyEightBytes_AndRoundTrips()
    {
        var writer = new JuteWriter();
        SampleStat.Write(writer);
        var bytes = writer.ToRecord();
        Assert.Equal(Stat.Size, bytes.Length);
        Assert.Equal(SampleStat, RoundTrip<Stat>(bytes));
    }

    [Fact]
    public void Records_RoundTrip_FieldForField()
    {
        Check(new ConnectRequest(0, 42, 30_000, 7, new byte[16], true), (a, b) => a.LastZxidSeen == b.LastZxidSeen && a.ReadOnly && a.Passwd!.SequenceEqual(b.Passwd!));
        Check(new ConnectResponse(0, 30_000, 7, [1, 2], false), (a, b) => a.SessionId == b.SessionId && a.Passwd!.SequenceEqual(b.Passwd!));
        Check(new RequestHeader(5, (int)OpCode.GetData), (a, b) => a == b);
        Check(new ReplyHeader(5, 99, (int)ZkError.NoNode), (a, b) => a == b);
        Check(new MultiHeader(1, false, -1), (a, b) => a == b);
        Check(new AuthPacket(0, "digest", "u:p"u8.ToArray()), (a, b) => a.Scheme == b.Scheme && a.Auth!.SequenceEqual(b.Auth!));
        Check(new CreateRequest("/a", [1], Acl.OpenUnsafe, 3), (a, b) => a.Path == b.Path && a.Flags == b.Flags && a.Acl!.SequenceEqual(b.Acl!));
        Check(new CreateTtlRequest("/a", null, Acl.OpenUnsafe, 5, 1000), (a, b) => a.Ttl == b.Ttl && b.Data is null);
        Check(new DeleteRequest("/a", 3), (a, b) => a == b);
        Check(new PathWatchRequest("/a", true), (a, b) => a == b);
        Check(new PathRequest("/a"), (a, b) => a == b);
        Check(new SetDataRequest("/a", [9], -1), (a, b) => a.Version == b.Version && b.Data!.SequenceEqual(a.Data!));
        Check(new CheckVersionRequest("/a", 2), (a, b) => a == b);
        Check(new SetAclRequest("/a", [new Acl(1, new Id("digest", "u:x"))], 0), (a, b) => a.Acl!.SequenceEqual(b.Acl!));
        Check(new AddWatchRequest("/a", 1), (a, b) => a == b);
        Check(new RemoveWatchesRequest("/a", 3), (a, b) => a == b);
        Check(new PathResponse("/a0000000001"), (a, b) => a == b);
        Check(new Create2Response("/a", SampleStat), (a, b) => a == b);
        Check(new StatResponse(SampleStat), (a, b) => a == b);
        Check(new GetDataResponse([4, 5], SampleStat), (a, b) => a.Stat == b.Stat && b.Data!.SequenceEqual(a.Data!));
        Check(new StringListResponse(["x", "y"]), (a, b) => a.Items.SequenceEqual(b.Items));
        Check(new GetChildren2Response(["x"], SampleStat), (a, b) => a.Children.SequenceEqual(b.Children) && a.Stat == b.Stat);
        Check(new GetAclResponse(Acl.OpenUnsafe, SampleStat), (a, b) => a.Acl.SequenceEqual(b.Acl) && a.Stat == b.Stat);
        Check(new IntResponse(12), (a, b) => a == b);
        Check(new WatcherEvent(3, 3, "/a"), (a, b) => a == b);
    }

    [Fact]
    public void SetWatches2_RoundTrips_AndSetWatchesHasNoPersistentLists()
    {
        var watches = new SetWatchesRequest(17, ["/d"], ["/e"], ["/c"], ["/p"], ["/r"]);
        foreach (var version2 in new[] { false, true })
        {
            var writer = new JuteWriter();
            watches.Write(writer, version2);
            var reader = new JuteReader(writer.ToRecord());
            var read = SetWatchesRequest.Read(ref reader, version2);
            reader.EnsureEnd("SetWatches");
            Assert.Equal(17, read.RelativeZxid);
            Assert.Equal(["/c"], read.ChildWatches);
            Assert.Equal(version2 ? ["/r"] : [], read.PersistentRecursiveWatches);
        }
    }

    [Fact]
    public void Multi_RoundTripsOpsAndResults()
    {
        var writer = new JuteWriter();
        MultiRequest.Write(writer, [
            new MultiOp(OpCode.Create, new CreateRequest("/a", [], Acl.OpenUnsafe, 0)),
            new MultiOp(OpCode.Delete, new DeleteRequest("/b", -1)),
            new MultiOp(OpCode.SetData, new SetDataRequest("/c", [1], 2)),
            new MultiOp(OpCode.Check, new CheckVersionRequest("/d", 0)),
        ]);
        var reader = new JuteReader(writer.ToRecord());
        var ops = MultiRequest.Read(ref reader, readOnly: false);
        reader.EnsureEnd("multi");
        Assert.Equal([OpCode.Create, OpCode.Delete, OpCode.SetData, OpCode.Check], ops.Select(o => o.Type));
        Assert.Equal("/d", ((CheckVersionRequest)ops[3].Request).Path);

        writer = new JuteWriter();
        MultiResponse.Write(writer, [new MultiResult(1, 0, new PathResponse("/a")), new MultiResult(2, 0, null), MultiResult.Failure(ZkError.BadVersion)]);
        reader = new JuteReader(writer.ToRecord());
        var results = MultiResponse.Read(ref reader);
        Assert.Equal([1, 2, -1], results.Select(r => r.Type));
        Assert.Equal((int)ZkError.BadVersion, ((IntResponse)results[2].Response!).Value);
    }

    [Fact]
    public void Multi_WithAReadOpInAWriteMulti_IsMalformed()
    {
        var writer = new JuteWriter();
        new MultiHeader((int)OpCode.GetData, false, -1).Write(writer);
        new PathWatchRequest("/a", false).Write(writer);
        MultiHeader.End.Write(writer);
        var bytes = writer.ToRecord();
        var e = Assert.Throws<JuteFormatException>(() =>
        {
            var reader = new JuteReader(bytes);
            MultiRequest.Read(ref reader, readOnly: false);
        });
        Assert.Contains("not allowed in a multi", e.Message);
    }

    [Fact]
    public void ConnectRequest_FromAPre34Client_WithoutTheReadOnlyByte_ReadsAsNotReadOnly()
    {
        var bytes = new JuteWriter().Int(0).Long(0).Int(10_000).Long(0).Buffer(new byte[16]).ToRecord();
        var reader = new JuteReader(bytes);
        var connect = ConnectRequest.Read(ref reader);
        Assert.False(connect.ReadOnly);
        Assert.Equal(10_000, connect.TimeOut);
    }

    [Theory]
    [InlineData("00000005616263", "ends inside a string")]       // length 5, 3 bytes
    [InlineData("FFFFFFFE", "has length -2")]
    [InlineData("000000", "ends inside a int")]
    [InlineData("00000002C328", "not valid UTF-8")]
    public void ReadString_OfABadFrame_ThrowsNamingTheProblem(string hex, string expected)
    {
        var bytes = Convert.FromHexString(hex);
        var e = Assert.Throws<JuteFormatException>(() =>
        {
            var reader = new JuteReader(bytes);
            reader.ReadString();
        });
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ReadStringVector_WithACountBeyondTheFrame_ThrowsBeforeAllocating()
    {
        var bytes = Convert.FromHexString("7FFFFFFF00000000");
        var e = Assert.Throws<JuteFormatException>(() =>
        {
            var reader = new JuteReader(bytes);
            reader.ReadStringVector();
        });
        Assert.Contains("claims 2147483647 elements", e.Message);
    }

    [Fact]
    public void EnsureEnd_WithTrailingBytes_Throws()
    {
        var bytes = Convert.FromHexString("0000000100");
        Assert.Throws<JuteFormatException>(() =>
        {
            var reader = new JuteReader(bytes);
            reader.ReadInt();
            reader.EnsureEnd("test");
        });
    }

    private static T RoundTrip<T>(byte[] bytes)
        where T : IJuteRecord<T>
    {
        var reader = new JuteReader(bytes);
        var value = T.Read(ref reader);
        reader.EnsureEnd(typeof(T).Name);
        return value;
    }

    private static void Check<T>(T value, Func<T, T, bool> same)
        where T : IJuteRecord<T>
    {
        var writer = new JuteWriter();
        value.Write(writer);
        var bytes = writer.ToRecord();
        var read = RoundTrip<T>(bytes);
        Assert.True(same(value, read), $"{typeof(T).Name} did not round-trip: {value} became {read}");
        var again = new JuteWriter();
        read.Write(again);
        Assert.Equal(bytes, again.ToRecord());
    }
}
