using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>What the leader sends back for a forwarded ZooKeeper write reaches the follower whole.</summary>
public sealed class ZkResultCodecTests
{
    private static readonly NodeStat Stat = new(3, 7, 11, 13, 1_700_000_000_000, 1_700_000_000_500, 42, 5, 2, ChildModifiedIndex: 17);

    [Fact]
    public void Decode_OfEncode_KeepsEveryFieldOfTheResultAndItsStats_PzxidIncluded()
    {
        var result = new ApplyResult
        {
            Index = 19,
            Error = ErrorCode.Ok,
            Path = "/queue/0000000003",
            Stat = Stat,
            SessionId = 42,
            TtlMs = 10_000,
            FailedOp = -1,
            OpResults = [new OpResult(ErrorCode.Ok, "/a", Stat with { ChildModifiedIndex = 23 })],
        };

        var decoded = ZkResultCodec.Decode(ZkResultCodec.Encode(result));

        Assert.Equal(result.Index, decoded.Index);
        Assert.Equal(result.Path, decoded.Path);
        Assert.Equal(Stat, decoded.Stat);
        Assert.Equal(17, decoded.Stat.ChildModifiedIndex);
        Assert.Equal(result.SessionId, decoded.SessionId);
        Assert.Equal(result.TtlMs, decoded.TtlMs);
        Assert.Equal(23, Assert.Single(decoded.OpResults).Stat.ChildModifiedIndex);
    }

    [Fact]
    public void Decode_OfBytesFromAnotherFormatVersion_IsAFormatError()
    {
        var bytes = ZkResultCodec.Encode(new ApplyResult { Index = 1 });
        bytes[0] = 1;

        Assert.Throws<FormatException>(() => ZkResultCodec.Decode(bytes));
    }
}
