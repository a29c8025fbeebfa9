using System.Reflection;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Tests.Results;

/// <summary>
/// The one binary form of a result, used by snapshots and by nodes handing each other results:
/// every field comes back, every stat field included, and bytes it did not make are a format error.
/// </summary>
public sealed class ApplyResultCodecTests
{
    public static TheoryData<string> StatFields() => [.. typeof(NodeStat).GetProperties().Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(StatFields))]
    public void Decode_OfEncode_KeepsEachStatField(string field)
    {
        // Each field alone set to a value no other field has: a field the codec forgot, or put in
        // another's place, comes back wrong. A field added to NodeStat is a new case here.
        var stat = WithOnly(field, 1_234_567);
        var result = new ApplyResult { Index = 9, Stat = stat, OpResults = [new OpResult(ErrorCode.Ok, "/a", stat)] };

        var decoded = ApplyResultCodec.Decode(ApplyResultCodec.Encode(result));

        Assert.Equal(stat, decoded.Stat);
        Assert.Equal(stat, Assert.Single(decoded.OpResults).Stat);
    }

    [Fact]
    public void Decode_OfEncode_KeepsEveryResultField()
    {
        var result = new ApplyResult
        {
            Index = 19,
            Error = ErrorCode.NodeExists,
            Path = "/queue/0000000003",
            SessionId = 42,
            TtlMs = 10_000,
            FailedOp = 1,
            OpResults = [new OpResult(ErrorCode.Ok, "/a", default), new OpResult(ErrorCode.NodeExists, "/b", default)],
            ExpiredSessions = [3, 5],
        };

        var decoded = ApplyResultCodec.Decode(ApplyResultCodec.Encode(result));

        Assert.Equal((result.Index, result.Error, result.Path, result.SessionId, result.TtlMs, result.FailedOp),
            (decoded.Index, decoded.Error, decoded.Path, decoded.SessionId, decoded.TtlMs, decoded.FailedOp));
        Assert.Equal(result.OpResults, decoded.OpResults);
        Assert.Equal(result.ExpiredSessions, decoded.ExpiredSessions);
        Assert.Null(ApplyResultCodec.Decode(ApplyResultCodec.Encode(new ApplyResult { Index = 1 })).Path);
    }

    [Fact]
    public void Decode_OfTruncatedAlteredOrLongerBytes_IsAFormatError()
    {
        var bytes = ApplyResultCodec.Encode(new ApplyResult { Index = 19, Path = "/a/b" });
        byte[] altered = [.. bytes];
        altered[3] ^= 0x40;

        Assert.Throws<FormatException>(() => ApplyResultCodec.Decode(bytes[..^1]));
        Assert.Throws<FormatException>(() => ApplyResultCodec.Decode(altered));
        Assert.Throws<FormatException>(() => ApplyResultCodec.Decode([.. bytes, 0]));
        Assert.Throws<FormatException>(() => ApplyResultCodec.Decode([]));
    }

    private static NodeStat WithOnly(string field, long value)
    {
        object boxed = default(NodeStat);
        var property = typeof(NodeStat).GetProperty(field)!;
        var backing = typeof(NodeStat).GetField($"<{field}>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic)!;
        // An enum (the node kind) takes its largest member instead: no other field is that small.
        backing.SetValue(boxed, property.PropertyType.IsEnum
            ? Enum.GetValues(property.PropertyType).Cast<object>().Max()
            : property.PropertyType == typeof(int) ? (object)(int)value : value);
        return (NodeStat)boxed;
    }
}
