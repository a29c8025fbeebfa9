using Mesh.Reliability.Tests.Linearizability;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Reliability.Tests.Recording;

public sealed class HistoryRecorderTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void CompletedOperation_HasItsInvocationAndCompletionTimes()
    {
        var recorder = new HistoryRecorder(_time);
        var t0 = recorder.Now();
        var op = recorder.Invoke(7, RegisterRequest.Write("x", "a"));
        _time.Advance(TimeSpan.FromMilliseconds(5));
        recorder.Complete(op, RegisterResult.Ok(version: 3));

        var recorded = Assert.Single(recorder.ToHistory());
        Assert.Equal(7, recorded.ClientId);
        Assert.Equal(OpKind.Write, recorded.Kind);
        Assert.Equal("a", recorded.Value);
        Assert.Equal(3, recorded.Version);
        Assert.Equal(OpOutcome.Ok, recorded.Outcome);
        Assert.Equal(t0, recorded.Invoked);
        Assert.Equal(TimeSpan.FromMilliseconds(5), recorder.Elapsed(recorded.Invoked, recorded.Completed!.Value));
    }

    [Fact]
    public void ReadResult_CarriesTheValueSeen()
    {
        var recorder = new HistoryRecorder(_time);
        var op = recorder.Invoke(1, RegisterRequest.Read("x"));
        recorder.Complete(op, RegisterResult.Saw("v", 2));
        var read = Assert.Single(recorder.ToHistory());
        Assert.Equal(("v", 2L), (read.Value, read.Version));
    }

    [Fact]
    public void TimedOutAndUnfinishedOperations_ArePending_AndFailedOnesAreDropped()
    {
        var recorder = new HistoryRecorder(_time);
        var timedOut = recorder.Invoke(1, RegisterRequest.Write("x", "a"));
        recorder.TimedOut(timedOut);
        recorder.Invoke(2, RegisterRequest.Write("x", "b")); // still running when the run ended
        var refused = recorder.Invoke(3, RegisterRequest.Write("x", "c"));
        recorder.Fail(refused);

        var history = recorder.ToHistory();
        Assert.Equal(["a", "b"], history.Select(op => op.Value));
        Assert.All(history, op => Assert.True(op.IsPending));
        Assert.Equal(4 + 1, recorder.Count);
    }

    [Fact]
    public void EndingAnOperationTwice_IsABugInTheHarness()
    {
        var recorder = new HistoryRecorder(_time);
        var op = recorder.Invoke(1, RegisterRequest.Read("x"));
        recorder.Complete(op, RegisterResult.Absent);
        recorder.TimedOut(op);
        Assert.Throws<InvalidOperationException>(() => recorder.ToHistory());
    }

    [Fact]
    public async Task ConcurrentRecording_KeepsEveryEvent_InTimeOrder()
    {
        var recorder = new HistoryRecorder(); // the real monotonic clock
        await Task.WhenAll(Enumerable.Range(0, 8).Select(client => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var op = recorder.Invoke(client, RegisterRequest.Read("x"));
                recorder.Complete(op, RegisterResult.Absent);
            }
        })));

        var events = recorder.Events;
        Assert.Equal(8 * 500 * 2, events.Count);
        Assert.Equal(events.Select(e => e.Time).Order(), events.Select(e => e.Time));
        Assert.Equal(8 * 500, recorder.ToHistory().Select(op => op.Id).Distinct().Count());
        Assert.All(recorder.ToHistory(), op => Assert.True(op.Completed >= op.Invoked));
    }
}
