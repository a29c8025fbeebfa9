using Mesh.Reliability.Tests.Checks;
using Mesh.Reliability.Tests.Linearizability;
using Mesh.Reliability.Tests.Recording;
using Xunit.Abstractions;

namespace Mesh.Reliability.Tests.Workload;

// The workload and checker together, against in-memory doubles: a correct register must always
// pass, a register with stale reads must be caught. (The real harness drives registry processes.)

public sealed class RegisterWorkloadTests(ITestOutputHelper output)
{
    private static readonly string[] s_keys = ["a", "b", "c"];

    private async Task<IReadOnlyList<Operation>> RunAsync(IRegisterClient register, int seed, int workers = 5, int operations = 80)
    {
        var recorder = new HistoryRecorder();
        await RegisterWorkload.RunAsync(_ => register, recorder, new WorkloadOptions(seed, workers, operations, s_keys));
        var history = recorder.ToHistory();
        output.WriteLine($"seed {seed}: {history.Count} operations, {history.Count(op => op.IsPending)} pending");
        return history;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task CorrectRegister_ConcurrentHistory_IsLinearizable(int seed)
    {
        var history = await RunAsync(new InMemoryRegister(), seed);
        var result = LinearizabilityChecker.Check(history);
        Assert.True(result.Verdict == Verdict.Ok, result.ToString());
        Assert.Contains(history, op => op.Kind == OpKind.Read && op.Outcome == OpOutcome.Ok);
        Assert.Contains(history, op => op.Kind == OpKind.CompareAndSet && op.Outcome == OpOutcome.Ok);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task CorrectRegisterWithTimeouts_IsLinearizable_AndKeepsAcknowledgedWrites(int seed)
    {
        var register = new InMemoryRegister(timeoutRate: 0.1);
        var history = await RunAsync(register, seed);
        Assert.Contains(history, op => op.IsPending);

        var result = LinearizabilityChecker.Check(history);
        Assert.True(result.Verdict == Verdict.Ok, result.ToString());

        var final = register.Snapshot();
        var finalValues = s_keys.ToDictionary(k => k, k => final.TryGetValue(k, out var node) ? node.Value : null);
        Assert.Empty(DurabilityCheck.Check(history, finalValues));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public async Task StaleReadRegister_IsCaught(int seed)
    {
        var history = await RunAsync(new StaleReadRegister(), seed);
        var result = LinearizabilityChecker.Check(history);
        output.WriteLine(result.ToString());
        Assert.Equal(Verdict.Illegal, result.Verdict);
        Assert.Contains(result.Explanations, e => e.Blocked.Kind == OpKind.Read || e.OpenOperations.Any(op => op.Kind == OpKind.Read));
    }

    [Fact]
    public async Task StaleReadRegister_OneClientReadingItsOwnWrite_IsCaught()
    {
        var register = new StaleReadRegister(refreshEveryChanges: 100);
        var recorder = new HistoryRecorder();
        await register.RecordAsync(recorder, 1, RegisterRequest.Create("x", "a"), CancellationToken.None);
        await register.RecordAsync(recorder, 1, RegisterRequest.Read("x"), CancellationToken.None);
        var explanation = Assert.Single(LinearizabilityChecker.Check(recorder.ToHistory()).Explanations);
        Assert.Equal(OpKind.Read, explanation.Blocked.Kind);
    }
}
