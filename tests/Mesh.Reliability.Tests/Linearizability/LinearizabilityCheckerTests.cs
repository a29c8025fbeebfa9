using static Mesh.Reliability.Tests.Linearizability.Ops;

namespace Mesh.Reliability.Tests.Linearizability;

// Each history is drawn as a timeline in the comment above it: one line per client, time grows
// to the right, [---] is an operation from invocation to completion, [---… never completed.

public sealed class LinearizabilityCheckerTests
{
    private static CheckResult Check(params Operation[] history) => LinearizabilityChecker.Check(history);

    private static void AssertOk(params Operation[] history)
    {
        var result = Check(history);
        Assert.True(result.Verdict == Verdict.Ok, result.ToString());
    }

    private static IllegalExplanation AssertIllegal(params Operation[] history)
    {
        var result = Check(history);
        Assert.True(result.Verdict == Verdict.Illegal, result.ToString());
        return Assert.Single(result.Explanations);
    }

    [Fact]
    public void EmptyHistory_IsLinearizable() => AssertOk();

    [Fact]
    public void SequentialCreateWriteRead_IsLinearizable() =>
        // c1: [create x=a] [write x=b] [read x -> b (version 1)]
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30, version: 1),
            Read(1, "x", from: 40, to: 50, saw: "b", version: 1));

    [Fact]
    public void ReadOfMissingKey_SeesAbsent() =>
        AssertOk(Read(1, "x", from: 0, to: 10, saw: null));

    [Fact]
    public void StaleReadAfterAcknowledgedWrite_IsIllegal()
    {
        // c1: [create x=a] [write x=b]
        // c2:                          [read x -> a]
        var explanation = AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30),
            Read(2, "x", from: 40, to: 50, saw: "a"));
        Assert.Equal("x", explanation.Key);
        Assert.Equal(OpKind.Read, explanation.Blocked.Kind);
        Assert.Contains("not linearizable", explanation.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LostWrite_IsIllegal() =>
        // c1: [create x=a] [write x=b]
        // c2:                          [write x=c] [read x -> b]   (c vanished)
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30),
            Write(2, "x", "c", from: 40, to: 50),
            Read(2, "x", from: 60, to: 70, saw: "b"));

    [Fact]
    public void TwoSuccessfulCasFromTheSameVersion_AreIllegal() =>
        // c1: [create x=a (v0)] [cas v0 -> b ok   ]
        // c2:                   [  cas v0 -> c ok ]
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            CasVersion(1, "x", expected: 0, "b", from: 20, to: 40),
            CasVersion(2, "x", expected: 0, "c", from: 25, to: 45));

    [Fact]
    public void ConcurrentCasFromTheSameVersion_OneWinsOneFails_IsLinearizable() =>
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            CasVersion(1, "x", expected: 0, "b", from: 20, to: 40, outcome: OpOutcome.Failed),
            CasVersion(2, "x", expected: 0, "c", from: 25, to: 45),
            Read(3, "x", from: 50, to: 60, saw: "c", version: 1));

    [Fact]
    public void CasByValue_ChecksTheValue() =>
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            CasValue(1, "x", expected: "zzz", "b", from: 20, to: 30));

    [Fact]
    public void ReadOfAValueNeverWritten_IsIllegal() =>
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Read(2, "x", from: 5, to: 15, saw: "ghost"));

    [Fact]
    public void WrongVersionOnRead_IsIllegal() =>
        // the value is right but a set must bump the version
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30),
            Read(1, "x", from: 40, to: 50, saw: "b", version: 0));

    [Fact]
    public void OverlappingOperations_AreFineInSomeOrder() =>
        // c1: [create x=a] [write x=b          ]
        // c2:               [read x -> b]
        // c3:                  [read x -> a ]
        // the read of b finishes before the read of a begins? no: they overlap, so a, then b.
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 80),
            Read(2, "x", from: 25, to: 60, saw: "b"),
            Read(3, "x", from: 30, to: 70, saw: "a"));

    [Fact]
    public void ReadsThatSeeNewThenOld_WithoutOverlap_AreIllegal() =>
        // c2's read of b completes before c3's read of a begins: a would have to come back.
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 80),
            Read(2, "x", from: 25, to: 40, saw: "b"),
            Read(3, "x", from: 50, to: 70, saw: "a"));

    [Fact]
    public void PendingWriteThatTookEffect_ExplainsALaterRead() =>
        // c1: [create x=a] [write x=b …          (timed out)
        // c2:                             [read x -> b]
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: null),
            Read(2, "x", from: 100, to: 110, saw: "b"));

    [Fact]
    public void PendingWriteThatDidNotTakeEffect_IsAlsoFine() =>
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: null),
            Read(2, "x", from: 100, to: 110, saw: "a"));

    [Fact]
    public void PendingWrite_CanTakeEffectLongAfterItsClientGaveUp() =>
        // the read of a comes after the timeout, the read of b even later: the write landed late.
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: null),
            Read(2, "x", from: 100, to: 110, saw: "a"),
            Read(2, "x", from: 200, to: 210, saw: "b"));

    [Fact]
    public void PendingWrite_CannotTakeEffectTwice() =>
        // a, b, a, b: one write of b and no second write of a cannot explain this.
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: null),
            Read(2, "x", from: 100, to: 110, saw: "b"),
            Read(2, "x", from: 200, to: 210, saw: "a"));

    [Fact]
    public void PendingWrite_CannotTakeEffectBeforeItWasInvoked() =>
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Read(2, "x", from: 20, to: 30, saw: "b"),
            Write(1, "x", "b", from: 40, to: null));

    [Fact]
    public void CreateOfAnExistingNode_AnswersExists() =>
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Create(2, "x", "b", from: 20, to: 30, outcome: OpOutcome.Exists),
            Read(2, "x", from: 40, to: 50, saw: "a", version: 0));

    [Fact]
    public void TwoSuccessfulCreates_WithoutADeleteBetween_AreIllegal() =>
        AssertIllegal(
            Create(1, "x", "a", from: 0, to: 10),
            Create(2, "x", "b", from: 20, to: 30));

    [Fact]
    public void DeleteThenRecreate_RestartsTheVersionAtZero() =>
        AssertOk(
            Create(1, "x", "a", from: 0, to: 10),
            Write(1, "x", "b", from: 20, to: 30, version: 1),
            Delete(1, "x", from: 40, to: 50),
            Delete(2, "x", from: 60, to: 70, outcome: OpOutcome.Absent),
            Read(2, "x", from: 80, to: 90, saw: null),
            Create(2, "x", "c", from: 100, to: 110),
            Read(1, "x", from: 120, to: 130, saw: "c", version: 0));

    [Fact]
    public void WriteToAMissingNode_AnswersAbsent() =>
        AssertIllegal(Write(1, "x", "a", from: 0, to: 10));

    [Fact]
    public void Keys_AreCheckedIndependently_AndOnlyTheBadKeyIsBlamed()
    {
        var result = Check(
            Create(1, "x", "a", from: 0, to: 10),
            Create(1, "y", "a", from: 0, to: 10),
            Write(1, "y", "b", from: 20, to: 30),
            Read(2, "y", from: 40, to: 50, saw: "a"),
            Read(2, "x", from: 40, to: 50, saw: "a"));
        Assert.Equal(Verdict.Illegal, result.Verdict);
        Assert.Equal(Verdict.Ok, result.Keys.Single(k => k.Key == "x").Verdict);
        Assert.Equal("y", Assert.Single(result.Explanations).Key);
    }

    [Fact]
    public void Explanation_NamesTheOperationsThatCouldNotBeOrdered()
    {
        var create = Create(1, "x", "a", from: 0, to: 10);
        var write = Write(1, "x", "b", from: 20, to: 30);
        var stale = Read(2, "x", from: 35, to: 50, saw: "a");
        var later = Read(3, "x", from: 40, to: 45, saw: "b");
        var explanation = AssertIllegal(create, write, stale, later);
        Assert.Contains(create, explanation.LinearizedPrefix);
        Assert.Contains(stale, explanation.OpenOperations.Append(explanation.Blocked));
    }

    [Fact]
    public void HugeAmbiguousHistory_ReturnsUnknownWithinTheBudget_InsteadOfHanging()
    {
        // 40 overlapping pending writes and a read that none of them explains: the search would
        // have to try every subset order; the step budget stops it.
        var history = new List<Operation> { Create(0, "x", "init", from: 0, to: 1) };
        for (var i = 0; i < 40; i++)
            history.Add(Write(i + 1, "x", $"v{i}", from: 2 + i, to: null));
        history.Add(Read(99, "x", from: 100, to: 101, saw: "never"));
        var result = LinearizabilityChecker.Check(history, new CheckOptions(TimeSpan.FromSeconds(2), MaxSteps: 50_000));
        Assert.Equal(Verdict.Unknown, result.Verdict);
    }
}
