namespace Mesh.Reliability.Tests.Linearizability;

/// <summary>
/// Builds histories that are linearizable by construction: random operations are run one after
/// another against the model (operation i takes effect at time 100 + 10·i), and each is then given
/// a random real-time interval around that instant, so neighbours overlap. Some operations are
/// made pending: some of those took effect, some did not. Every written value is unique, so a
/// test can tell which write a read saw.
/// </summary>
internal static class SequentialHistories
{
    public const long Step = 10;

    public static List<Operation> Generate(int seed, int count, int spread, int keys = 3)
    {
        var random = new Random(seed);
        var state = new Dictionary<string, VersionedRegister>(StringComparer.Ordinal);
        var history = new List<Operation>(count);
        for (var i = 0; i < count; i++)
        {
            var key = ((char)('a' + random.Next(keys))).ToString();
            var current = state.GetValueOrDefault(key);
            var at = 100 + (Step * i);
            var from = at - random.Next(spread + 1);
            long? to = at + random.Next(spread + 1);
            var value = $"v{i}";
            var pending = random.NextDouble() < 0.1;
            var tookEffect = !pending || random.NextDouble() < 0.5;
            if (pending)
                to = null;

            var op = random.Next(100) switch
            {
                < 35 => Ops.Read(i, key, from, to, current.Exists ? current.Value : null, current.Exists && random.Next(2) == 0 ? current.Version : null),
                < 55 => Ops.Write(i, key, value, from, to, current.Exists ? OpOutcome.Ok : OpOutcome.Absent),
                < 70 => CasVersion(random, i, key, current, value, from, to),
                < 75 => Ops.CasValue(i, key, random.Next(2) == 0 && current.Exists ? current.Value! : "v-1", value, from, to,
                    current.Exists && random.Next(2) == 0 ? OpOutcome.Ok : OpOutcome.Failed),
                < 90 => Ops.Create(i, key, value, from, to, current.Exists ? OpOutcome.Exists : OpOutcome.Ok),
                _ => Ops.Delete(i, key, from, to, current.Exists ? OpOutcome.Ok : OpOutcome.Absent),
            };
            // CAS by value above picked its outcome first; make the expectation agree with it.
            if (op.Kind == OpKind.CompareAndSet && op.ExpectedValue is not null)
                op = op with { ExpectedValue = op.Outcome == OpOutcome.Ok || (pending && current.Exists) ? current.Value : "v-1" };

            if (tookEffect)
            {
                if (!current.TryStep(op, out var next))
                    throw new InvalidOperationException($"generator bug: {op} from {current}");
                state[key] = next;
            }
            history.Add(op);
        }
        return history;
    }

    private static Operation CasVersion(Random random, int i, string key, VersionedRegister current, string value, long from, long? to)
    {
        var expected = current.Version + random.Next(-1, 2) * (random.Next(3) == 0 ? 1 : 0);
        var applies = current.Exists && expected == current.Version;
        return Ops.CasVersion(i, key, expected, value, from, to, applies ? OpOutcome.Ok : OpOutcome.Failed, applies ? current.Version + 1 : null);
    }

    /// <summary>
    /// Finds a value that a completed write <c>w1</c> set and a completed change <c>w2</c>, invoked
    /// after <c>w1</c> completed, then replaced; returns a read of that value invoked after
    /// <c>w2</c> completed — a read no linearization can explain. Null when the history has no
    /// such pair.
    /// </summary>
    public static Operation? StaleRead(IReadOnlyList<Operation> history, int seed)
    {
        static bool Sets(Operation op) => !op.IsPending && op.Outcome == OpOutcome.Ok && op.Kind is OpKind.Write or OpKind.CompareAndSet or OpKind.Create;
        static bool Changes(Operation op) => Sets(op) || (!op.IsPending && op.Kind == OpKind.Delete && op.Outcome == OpOutcome.Ok);

        var pairs = (
            from w1 in history.Where(Sets)
            from w2 in history.Where(Changes)
            where w2.Key == w1.Key && w2.Invoked > w1.Completed
            select (w1, w2)).ToList();
        if (pairs.Count == 0)
            return null;
        var (written, overwrite) = pairs[new Random(seed).Next(pairs.Count)];
        var after = overwrite.Completed!.Value + 1;
        return Ops.Read(client: 1_000_000, written.Key, from: after, to: after + 1, saw: written.Value);
    }
}
