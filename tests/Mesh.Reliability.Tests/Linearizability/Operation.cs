namespace Mesh.Reliability.Tests.Linearizability;

// One client operation on one key, as a history records it: what was asked, when it was invoked,
// when (if ever) it completed, and what it answered. An operation without a completion (or with
// outcome Unknown) timed out: it may or may not have taken effect, at any time after its
// invocation, so the checker treats it as concurrent with everything invoked after it.

/// <summary>What an operation asks of the per-key register.</summary>
internal enum OpKind
{
    Read,
    Write,
    CompareAndSet,
    Create,
    Delete,
}

/// <summary>What an operation answered.</summary>
internal enum OpOutcome
{
    /// <summary>Done: a read saw a value, a write/CAS/create/delete was applied.</summary>
    Ok,

    /// <summary>A CAS whose expectation did not hold (wrong version or value, or no node).</summary>
    Failed,

    /// <summary>There was no node: a read found nothing, a write or delete had nothing to change.</summary>
    Absent,

    /// <summary>A create found the node already there.</summary>
    Exists,

    /// <summary>No answer (timeout, connection lost): applied or not, we cannot tell.</summary>
    Unknown,
}

/// <summary>
/// An operation in a history. Times are in any monotonic unit (the recorder uses
/// <see cref="TimeProvider.GetTimestamp"/> ticks); only their order matters.
/// </summary>
/// <param name="Value">The value written (write, CAS, create) or the value a read saw (null = none).</param>
/// <param name="Version">
/// Optional: the node version a read saw, or the version a write/CAS/create left. Checked when given.
/// </param>
/// <param name="ExpectedVersion">CAS by version: the version the node must have.</param>
/// <param name="ExpectedValue">CAS by value: the value the node must hold.</param>
internal sealed record Operation(
    int Id,
    int ClientId,
    string Key,
    OpKind Kind,
    long Invoked,
    long? Completed,
    OpOutcome Outcome,
    string? Value = null,
    long? Version = null,
    long? ExpectedVersion = null,
    string? ExpectedValue = null)
{
    /// <summary>True when the outcome is unknown: the operation may or may not have taken effect.</summary>
    public bool IsPending => Outcome == OpOutcome.Unknown || Completed is null;

    public override string ToString()
    {
        var what = Kind switch
        {
            OpKind.Read => $"read({Key})",
            OpKind.Write => $"write({Key}, {Value})",
            OpKind.CompareAndSet when ExpectedVersion is { } v => $"cas({Key}, version {v} -> {Value})",
            OpKind.CompareAndSet => $"cas({Key}, '{ExpectedValue}' -> {Value})",
            OpKind.Create => $"create({Key}, {Value})",
            _ => $"delete({Key})",
        };
        var answer = (Kind, Outcome) switch
        {
            (_, OpOutcome.Unknown) => "?",
            (OpKind.Read, OpOutcome.Ok) => Version is { } rv ? $"'{Value}' (version {rv})" : $"'{Value}'",
            (_, OpOutcome.Ok) when Version is { } wv => $"ok (version {wv})",
            _ => Outcome.ToString().ToLowerInvariant(),
        };
        var end = IsPending ? "…" : Completed!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"#{Id} client {ClientId} [{Invoked}, {end}] {what} -> {answer}";
    }
}
