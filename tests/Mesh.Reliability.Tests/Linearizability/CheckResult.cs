using System.Text;

namespace Mesh.Reliability.Tests.Linearizability;

internal enum Verdict
{
    /// <summary>Some order of the operations respects real time and the register's specification.</summary>
    Ok,

    /// <summary>No such order exists: the history is not linearizable.</summary>
    Illegal,

    /// <summary>The search ran out of its time or step budget before deciding.</summary>
    Unknown,
}

/// <summary>Limits on the search. Whichever is reached first makes the verdict Unknown.</summary>
/// <param name="Timeout">Wall-clock budget for the whole history (all keys).</param>
/// <param name="MaxSteps">Search steps per key (one step = one attempt to linearize an operation).</param>
internal sealed record CheckOptions(TimeSpan Timeout, long MaxSteps)
{
    public static CheckOptions Default { get; } = new(TimeSpan.FromSeconds(10), 20_000_000);
}

/// <summary>
/// Why a key's history is illegal: the longest prefix the search could linearize, the state it
/// left, and the operation that then had to take effect (its completion came next) but could not,
/// together with the operations still open at that moment — the ones that could not be ordered.
/// </summary>
internal sealed record IllegalExplanation(
    string Key,
    IReadOnlyList<Operation> LinearizedPrefix,
    VersionedRegister StateAfterPrefix,
    Operation Blocked,
    IReadOnlyList<Operation> OpenOperations)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("key '").Append(Key).Append("' is not linearizable.\n");
        text.Append("  longest linearizable prefix (").Append(LinearizedPrefix.Count).Append(" ops):\n");
        foreach (var op in LinearizedPrefix.TakeLast(8))
            text.Append("    ").Append(op).Append('\n');
        if (LinearizedPrefix.Count > 8)
            text.Append("    (").Append(LinearizedPrefix.Count - 8).Append(" earlier ops not shown)\n");
        text.Append("  state after it: ").Append(StateAfterPrefix).Append('\n');
        text.Append("  then ").Append(Blocked).Append(" completed, but no order of the open operations explains it:\n");
        foreach (var op in OpenOperations)
            text.Append("    ").Append(op).Append('\n');
        return text.ToString();
    }
}

/// <summary>The verdict on one key's sub-history.</summary>
internal sealed record KeyResult(string Key, Verdict Verdict, int Operations, long Steps, IllegalExplanation? Explanation);

/// <summary>The verdict on a whole history: Illegal if any key is, else Unknown if any key is, else Ok.</summary>
internal sealed record CheckResult(IReadOnlyList<KeyResult> Keys)
{
    public Verdict Verdict =>
        Keys.Any(k => k.Verdict == Verdict.Illegal) ? Verdict.Illegal
        : Keys.Any(k => k.Verdict == Verdict.Unknown) ? Verdict.Unknown
        : Verdict.Ok;

    public IEnumerable<IllegalExplanation> Explanations => Keys.Select(k => k.Explanation).OfType<IllegalExplanation>();

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Verdict).Append(" (").Append(Keys.Count).Append(" keys, ")
            .Append(Keys.Sum(k => k.Operations)).Append(" ops, ").Append(Keys.Sum(k => k.Steps)).Append(" steps)\n");
        foreach (var key in Keys.Where(k => k.Verdict == Verdict.Unknown))
            text.Append("key '").Append(key.Key).Append("': undecided within the budget\n");
        foreach (var explanation in Explanations)
            text.Append(explanation);
        return text.ToString();
    }
}
