using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Mesh.Reliability.Tests.Linearizability;

public sealed class LinearizabilityProperties
{
    private static int Count(byte size) => 5 + (size % 60);

    private static int Spread(byte overlap) => overlap % 40;

    [Property(MaxTest = 200)]
    public Property SequentialExecutionWithRealTimeOverlap_IsAlwaysLinearizable(int seed, byte size, byte overlap)
    {
        var history = SequentialHistories.Generate(seed, Count(size), Spread(overlap));
        var result = LinearizabilityChecker.Check(history);
        return (result.Verdict == Verdict.Ok).Label(result.ToString());
    }

    [Property(MaxTest = 200)]
    public Property InjectingAStaleRead_MakesTheHistoryIllegal(int seed, byte size, byte overlap)
    {
        var history = SequentialHistories.Generate(seed, Count(size), Spread(overlap));
        var stale = SequentialHistories.StaleRead(history, seed);
        if (stale is null)
            return true.Classify(true, "no overwritten value to read");
        var result = LinearizabilityChecker.Check(history.Append(stale));
        return (result.Verdict == Verdict.Illegal).Label($"injected {stale}\n{result}");
    }
}
