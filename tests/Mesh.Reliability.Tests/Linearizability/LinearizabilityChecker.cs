using System.Diagnostics;

namespace Mesh.Reliability.Tests.Linearizability;

/// <summary>
/// Decides whether a concurrent history of register operations is linearizable, the way
/// Porcupine does: the history is split by key (each key is an independent register), and each
/// key's sub-history is searched with the Wing–Gong algorithm as improved by Lowe — a depth-first
/// search over "which operation takes effect next", pruned with a cache of (set of operations
/// already linearized, register state) pairs already explored. Pending operations (no answer)
/// are given an infinite completion time, so they may take effect anywhere after their
/// invocation, or — by being ordered last — not at all.
/// </summary>
internal static class LinearizabilityChecker
{
    public static CheckResult Check(IEnumerable<Operation> history, CheckOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= CheckOptions.Default;
        var clock = Stopwatch.StartNew();
        var results = new List<KeyResult>();
        // Smallest keys first: they finish fastest, so an illegal key is found before the budget goes.
        var partitions = history
            .Where(op => !(op.Kind == OpKind.Read && op.IsPending)) // a read without an answer constrains nothing
            .GroupBy(op => op.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            var ops = partition.ToArray();
            var remaining = options.Timeout - clock.Elapsed;
            results.Add(remaining <= TimeSpan.Zero
                ? new KeyResult(partition.Key, Verdict.Unknown, ops.Length, 0, null)
                : new KeySearch(partition.Key, ops, remaining, options.MaxSteps, cancellationToken).Run());
        }
        return new CheckResult(results);
    }

    /// <summary>The search over one key's operations.</summary>
    private sealed class KeySearch
    {
        private const int Nil = -1;

        private readonly string _key;
        private readonly Operation[] _ops;
        private readonly TimeSpan _timeout;
        private readonly long _maxSteps;
        private readonly CancellationToken _cancellationToken;

        // Entries 0..2n-1 are call and return events sorted by time; entry 2n is the list head.
        private readonly int[] _opOf;
        private readonly bool[] _isCall;
        private readonly int[] _match; // call entry -> its return entry
        private readonly int[] _next;
        private readonly int[] _prev;
        private readonly int _head;

        private int _bestDepth = -1;
        private IllegalExplanation? _best;

        public KeySearch(string key, Operation[] ops, TimeSpan timeout, long maxSteps, CancellationToken cancellationToken)
        {
            _key = key;
            _ops = ops;
            _timeout = timeout;
            _maxSteps = maxSteps;
            _cancellationToken = cancellationToken;

            var n = ops.Length;
            var events = new List<(long Time, bool IsCall, int Op)>(2 * n);
            for (var i = 0; i < n; i++)
            {
                events.Add((ops[i].Invoked, true, i));
                events.Add((ops[i].IsPending ? long.MaxValue : ops[i].Completed!.Value, false, i));
            }
            // At equal times calls come first, so touching operations count as concurrent.
            events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.IsCall.CompareTo(a.IsCall));

            _opOf = new int[2 * n];
            _isCall = new bool[2 * n];
            _match = new int[2 * n];
            _next = new int[2 * n + 1];
            _prev = new int[2 * n + 1];
            _head = 2 * n;
            var callEntry = new int[n];
            for (var e = 0; e < events.Count; e++)
            {
                _opOf[e] = events[e].Op;
                _isCall[e] = events[e].IsCall;
                if (events[e].IsCall)
                    callEntry[events[e].Op] = e;
                else
                    _match[callEntry[events[e].Op]] = e;
            }
            _prev[_head] = Nil;
            _next[_head] = events.Count == 0 ? Nil : 0;
            for (var e = 0; e < events.Count; e++)
            {
                _prev[e] = e == 0 ? _head : e - 1;
                _next[e] = e == events.Count - 1 ? Nil : e + 1;
            }
        }

        public KeyResult Run()
        {
            var clock = Stopwatch.StartNew();
            var cache = new HashSet<(Bitset, VersionedRegister)>();
            var calls = new Stack<(int Entry, VersionedRegister State)>();
            var linearized = new Bitset(_ops.Length);
            var state = VersionedRegister.Absent;
            var entry = _next[_head];
            long steps = 0;

            while (_next[_head] != Nil)
            {
                if (++steps > _maxSteps || ((steps & 0x3FF) == 0 && (clock.Elapsed > _timeout || _cancellationToken.IsCancellationRequested)))
                    return new KeyResult(_key, Verdict.Unknown, _ops.Length, steps, null);

                if (_isCall[entry])
                {
                    if (state.TryStep(_ops[_opOf[entry]], out var nextState))
                    {
                        var candidate = linearized.With(_opOf[entry]);
                        if (cache.Add((candidate, nextState)))
                        {
                            calls.Push((entry, state));
                            state = nextState;
                            linearized = candidate;
                            Lift(entry);
                            entry = _next[_head];
                            continue;
                        }
                    }
                    entry = _next[entry];
                }
                else
                {
                    // A completion with its operation not yet linearized: this branch is dead.
                    NoteDeadEnd(calls, state, entry);
                    if (calls.Count == 0)
                        return new KeyResult(_key, Verdict.Illegal, _ops.Length, steps, _best);
                    var (top, previous) = calls.Pop();
                    state = previous;
                    linearized = linearized.Without(_opOf[top]);
                    Unlift(top);
                    entry = _next[top];
                }
            }
            return new KeyResult(_key, Verdict.Ok, _ops.Length, steps, null);
        }

        private void NoteDeadEnd(Stack<(int Entry, VersionedRegister State)> calls, VersionedRegister state, int blockingReturn)
        {
            if (calls.Count <= _bestDepth)
                return;
            _bestDepth = calls.Count;
            var prefix = calls.Reverse().Select(c => _ops[_opOf[c.Entry]]).ToArray();
            var open = new List<Operation>();
            for (var e = _next[_head]; e != Nil && e != blockingReturn; e = _next[e])
            {
                if (_isCall[e])
                    open.Add(_ops[_opOf[e]]);
            }
            _best = new IllegalExplanation(_key, prefix, state, _ops[_opOf[blockingReturn]], open);
        }

        private void Lift(int call)
        {
            _next[_prev[call]] = _next[call];
            if (_next[call] != Nil)
                _prev[_next[call]] = _prev[call];
            var ret = _match[call];
            _next[_prev[ret]] = _next[ret];
            if (_next[ret] != Nil)
                _prev[_next[ret]] = _prev[ret];
        }

        private void Unlift(int call)
        {
            var ret = _match[call];
            _next[_prev[ret]] = ret;
            if (_next[ret] != Nil)
                _prev[_next[ret]] = ret;
            _next[_prev[call]] = call;
            if (_next[call] != Nil)
                _prev[_next[call]] = call;
        }
    }
}
