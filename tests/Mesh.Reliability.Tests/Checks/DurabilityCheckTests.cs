using Mesh.Reliability.Tests.Linearizability;
using static Mesh.Reliability.Tests.Linearizability.Ops;

namespace Mesh.Reliability.Tests.Checks;

public sealed class DurabilityCheckTests
{
    private static IReadOnlyList<Violation> Check(Dictionary<string, string?> final, params Operation[] history) =>
        DurabilityCheck.Check(history, final);

    [Fact]
    public void FinalReadOfTheLastAcknowledgedWrite_Passes() =>
        Assert.Empty(Check(
            new() { ["x"] = "b" },
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30)));

    [Fact]
    public void LostAcknowledgedWrite_IsReported()
    {
        var violations = Check(
            new() { ["x"] = "a" },
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30));
        var violation = Assert.Single(violations);
        Assert.Contains("'x'", violation.Message, StringComparison.Ordinal);
        Assert.Contains("'a'", violation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConcurrentAcknowledgedWrites_EitherMayBeLast()
    {
        Operation[] history =
        [
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 40),
            Write(2, "x", "c", from: 30, to: 50),
        ];
        Assert.Empty(Check(new() { ["x"] = "b" }, history));
        Assert.Empty(Check(new() { ["x"] = "c" }, history));
        Assert.Single(Check(new() { ["x"] = "a" }, history));
    }

    [Fact]
    public void UnknownWrite_MayOrMayNotBeLast()
    {
        Operation[] history =
        [
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: null),
        ];
        Assert.Empty(Check(new() { ["x"] = "a" }, history));
        Assert.Empty(Check(new() { ["x"] = "b" }, history));
    }

    [Fact]
    public void AcknowledgedDelete_LeavesNoNode()
    {
        Operation[] history =
        [
            Create(1, "x", "a", from: 0, to: 10),
            Delete(1, "x", from: 20, to: 30),
        ];
        Assert.Empty(Check(new() { ["x"] = null }, history));
        Assert.Single(Check(new() { ["x"] = "a" }, history));
    }

    [Fact]
    public void KeyWithAcknowledgedWritesButNoFinalRead_IsReported() =>
        Assert.Contains("no final read", Assert.Single(Check(new(), Create(1, "x", "a", from: 0, to: 10))).Message, StringComparison.Ordinal);
}
