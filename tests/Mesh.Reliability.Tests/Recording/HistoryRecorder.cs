using Mesh.Reliability.Tests.Linearizability;

namespace Mesh.Reliability.Tests.Recording;

/// <summary>How an event in the log ends or starts an operation (Jepsen's :invoke, :ok, :fail, :info).</summary>
internal enum EventType
{
    /// <summary>The client is about to send the request.</summary>
    Invoke,

    /// <summary>The client got an answer (which may be a refusal such as Exists or Failed).</summary>
    Complete,

    /// <summary>The request certainly had no effect (e.g. refused before it was sent): dropped from the history.</summary>
    Fail,

    /// <summary>No answer (timeout, connection reset): the outcome is unknown.</summary>
    Info,
}

/// <summary>One entry of the append-only log. <see cref="Time"/> is a monotonic timestamp.</summary>
internal sealed record HistoryEvent(long Time, EventType Type, int OpId, int ClientId, RegisterRequest? Request, RegisterResult? Result);

/// <summary>
/// Records a concurrent history: clients call <see cref="Invoke"/> just before sending a request
/// and <see cref="Complete"/>, <see cref="Fail"/> or <see cref="TimedOut"/> once they know how it
/// ended. Thread-safe and append-only; timestamps come from the monotonic
/// <see cref="TimeProvider.GetTimestamp"/> (a Stopwatch on the system provider) and are taken
/// under the log's lock, so log order and time order agree.
/// </summary>
internal sealed class HistoryRecorder(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly List<HistoryEvent> _events = [];
    private readonly Lock _lock = new();
    private int _nextOpId;

    public int Count
    {
        get { lock (_lock) return _events.Count; }
    }

    /// <summary>A copy of the log so far.</summary>
    public IReadOnlyList<HistoryEvent> Events
    {
        get { lock (_lock) return _events.ToArray(); }
    }

    /// <summary>Monotonic now, in <see cref="TimeProvider.TimestampFrequency"/> ticks.</summary>
    public long Now() => _time.GetTimestamp();

    public TimeSpan Elapsed(long from, long to) => _time.GetElapsedTime(from, to);

    /// <summary>Logs the invocation; returns the operation id to complete it with.</summary>
    public int Invoke(int clientId, RegisterRequest request)
    {
        lock (_lock)
        {
            var id = ++_nextOpId;
            _events.Add(new HistoryEvent(Now(), EventType.Invoke, id, clientId, request, null));
            return id;
        }
    }

    public void Complete(int opId, RegisterResult result) => Append(opId, EventType.Complete, result);

    public void Fail(int opId) => Append(opId, EventType.Fail, null);

    public void TimedOut(int opId) => Append(opId, EventType.Info, null);

    /// <summary>
    /// The operations of the log, for the checkers: completed ones with their answers, timed-out
    /// and still-running ones as pending (outcome Unknown), certainly-failed ones left out.
    /// </summary>
    public IReadOnlyList<Operation> ToHistory()
    {
        var events = Events;
        var ends = new Dictionary<int, HistoryEvent>();
        foreach (var e in events.Where(e => e.Type != EventType.Invoke))
        {
            if (!ends.TryAdd(e.OpId, e))
                throw new InvalidOperationException($"operation {e.OpId} ended twice");
        }
        var history = new List<Operation>();
        foreach (var invoke in events.Where(e => e.Type == EventType.Invoke))
        {
            var request = invoke.Request!;
            ends.TryGetValue(invoke.OpId, out var end);
            if (end?.Type == EventType.Fail)
                continue;
            var answered = end is { Type: EventType.Complete };
            var value = request.Kind == OpKind.Read ? (answered ? end!.Result!.Value : null) : request.Value;
            history.Add(new Operation(
                invoke.OpId, invoke.ClientId, request.Key, request.Kind,
                invoke.Time,
                answered ? end!.Time : null,
                answered ? end!.Result!.Outcome : OpOutcome.Unknown,
                value,
                answered ? end!.Result!.Version : null,
                request.ExpectedVersion,
                request.ExpectedValue));
        }
        return history;
    }

    private void Append(int opId, EventType type, RegisterResult? result)
    {
        lock (_lock)
        {
            var invoke = _events.FindLast(e => e.OpId == opId && e.Type == EventType.Invoke)
                ?? throw new InvalidOperationException($"operation {opId} was never invoked");
            _events.Add(new HistoryEvent(Now(), type, opId, invoke.ClientId, null, result));
        }
    }
}
