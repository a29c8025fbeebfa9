using Mesh.Reliability.Tests.Linearizability;

namespace Mesh.Reliability.Tests.Checks;

/// <summary>
/// Every acknowledged write survives: after the last fault is healed, each key's final read must
/// show a change that could be the last one — an acknowledged change that no other acknowledged
/// change followed in real time, or any change whose outcome is unknown (it may have landed
/// late). Written values must be unique per run, so a value names its write.
/// </summary>
internal static class DurabilityCheck
{
    public const string Name = "acknowledged writes survive";

    /// <param name="finalValues">Per key, the value a read after the final heal saw (null = no node).</param>
    public static IReadOnlyList<Violation> Check(IEnumerable<Operation> history, IReadOnlyDictionary<string, string?> finalValues)
    {
        var violations = new List<Violation>();
        foreach (var key in history.GroupBy(op => op.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var acked = key.Where(op => !op.IsPending && Changes(op)).ToList();
            var pending = key.Where(op => op.IsPending && op.Kind != OpKind.Read).ToList();
            if (acked.Count == 0 && pending.Count == 0)
                continue;
            if (!finalValues.TryGetValue(key.Key, out var final))
            {
                violations.Add(new Violation(Name, $"key '{key.Key}': no final read"));
                continue;
            }

            // An acknowledged change is a candidate for "last" unless another acknowledged change
            // was invoked after it completed (that one certainly came later).
            var lastAcked = acked.Where(w => !acked.Any(later => later.Invoked > w.Completed)).ToList();
            var candidates = lastAcked.Concat(pending).ToList();
            var allowsInitial = acked.Count == 0;
            if (candidates.Any(op => ValueAfter(op) == final) || (allowsInitial && final is null))
                continue;

            var expected = string.Join(", ", candidates.Select(op => $"{Show(ValueAfter(op))} from #{op.Id}{(op.IsPending ? " (unknown outcome)" : "")}"));
            violations.Add(new Violation(Name,
                $"key '{key.Key}': final read saw {Show(final)}, but the last acknowledged change{(lastAcked.Count > 1 ? "s were" : " was")} " +
                $"{string.Join(", ", lastAcked.Select(op => op.ToString()))}; expected one of: {expected}"));
        }
        return violations;
    }

    private static bool Changes(Operation op) =>
        op.Outcome == OpOutcome.Ok && op.Kind is OpKind.Write or OpKind.CompareAndSet or OpKind.Create or OpKind.Delete;

    private static string? ValueAfter(Operation op) => op.Kind == OpKind.Delete ? null : op.Value;

    private static string Show(string? value) => value is null ? "no node" : $"'{value}'";
}
