using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>A follower's batch of forwarded writes and the leader's outcome for each reach the other side whole and in order.</summary>
public sealed class ZkBatchCodecTests
{
    [Fact]
    public void DecodeCommands_OfEncodeCommands_KeepsEveryCommandInOrder()
    {
        byte[][] commands = [[1, 2, 3], [], [4]];

        var decoded = ZkBatchCodec.DecodeCommands(ZkBatchCodec.EncodeCommands(commands), maxCount: 64);

        Assert.Equal(commands, decoded);
    }

    [Fact]
    public void DecodeOutcomes_StopsAtTheFirstWriteNotApplied_AndNamesWhetherItWasProposed()
    {
        var applied = ZkResultCodec.Encode(new ApplyResult { Index = 7, Path = "/a" });
        var notProposed = ZkBatchCodec.EncodeOutcomes([(ZkBatchCodec.Outcome.Applied, applied), (ZkBatchCodec.Outcome.NotProposed, []), (ZkBatchCodec.Outcome.NotProposed, [])]);
        var unknown = ZkBatchCodec.EncodeOutcomes([(ZkBatchCodec.Outcome.Unknown, "lost the lead"u8.ToArray())]);

        var (results, failure) = ZkBatchCodec.DecodeOutcomes(notProposed, 3);
        Assert.Equal((7L, "/a"), (Assert.Single(results).Index, results[0].Path));
        Assert.IsType<NotLeaderException>(failure);

        var (none, lost) = ZkBatchCodec.DecodeOutcomes(unknown, 1);
        Assert.Empty(none);
        Assert.Contains("lost the lead", Assert.IsType<OutcomeUnknownException>(lost).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_OfABatchTooLargeTruncatedOrWithAMissingOutcome_IsAFormatError()
    {
        var three = ZkBatchCodec.EncodeCommands([[1], [2], [3]]);

        Assert.Throws<FormatException>(() => ZkBatchCodec.DecodeCommands(three, maxCount: 2));
        Assert.Throws<FormatException>(() => ZkBatchCodec.DecodeCommands(three[..^1], maxCount: 64));
        Assert.Throws<FormatException>(() => ZkBatchCodec.DecodeOutcomes(ZkBatchCodec.EncodeOutcomes([(ZkBatchCodec.Outcome.NotProposed, [])]), 2));
    }
}
