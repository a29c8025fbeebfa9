using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Container and TTL nodes. The state machine only keeps the set of them and applies ReapNodes;
// deciding what is due needs a clock, so the leader does it (FindReapable) and proposes the
// deletes, each conditional on the node being unchanged, so every replica deletes the same nodes.
public sealed partial class RegistryStateMachine
{
    // Ordinal order gives a cursor that survives changes between passes.
    private readonly SortedSet<string> _reapable = new(StringComparer.Ordinal);

    /// <summary>Number of container and TTL nodes.</summary>
    public int ReapableCount => _reapable.Count;

    /// <summary>
    /// Looks at up to <paramref name="maxExamined"/> container and TTL nodes in path order after
    /// <paramref name="after"/> (null: from the first) and returns those due at
    /// <paramref name="nowMs"/> (<see cref="NodeReaping"/>), at most <paramref name="maxFound"/>,
    /// and where the next pass goes on (null when it reached the last, so the next starts over).
    /// Work is bounded by <paramref name="maxExamined"/> whatever the number of such nodes.
    /// </summary>
    public ReapScan FindReapable(long nowMs, string? after, int maxExamined, int maxFound, long maxNeverUsedMs = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExamined, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFound, 1);
        if (_reapable.Count == 0 || (after is not null && string.CompareOrdinal(after, _reapable.Max) >= 0))
        {
            return new ReapScan([], null);
        }

        var range = after is null ? _reapable : _reapable.GetViewBetween(after, _reapable.Max!);
        var found = new List<ReapCandidate>();
        var examined = 0;
        string? last = null;
        foreach (var path in range)
        {
            if (ReferenceEquals(path, after) || string.Equals(path, after, StringComparison.Ordinal))
            {
                continue;
            }

            var node = _nodes[path];
            if (NodeReaping.Due(node, nowMs, maxNeverUsedMs))
            {
                found.Add(new ReapCandidate(path, node.CreatedIndex, node.Version, node.ChildVersion));
            }

            last = path;
            if (++examined == maxExamined || found.Count == maxFound)
            {
                break;
            }
        }

        return new ReapScan(found, last is not null && string.CompareOrdinal(last, _reapable.Max) < 0 ? last : null);
    }

    private ApplyResult Reap(IReadOnlyList<ReapCandidate> candidates)
    {
        var results = new OpResult[candidates.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = ReapOne(candidates[i]);
        }

        return new ApplyResult { Index = _index, OpResults = results, Events = TakeEvents() };
    }

    private OpResult ReapOne(ReapCandidate c)
    {
        var path = c.Path ?? string.Empty;
        if (!NodePath.IsValid(path) || path.Length == 1 || !_nodes.TryGetValue(path, out var node) || node.Kind == NodeKind.Plain
            || node.CreatedIndex != c.CreatedIndex)
        {
            return new OpResult(ErrorCode.NoNode, path, default);
        }

        if (node.Version != c.Version || node.ChildVersion != c.ChildVersion)
        {
            return new OpResult(ErrorCode.BadVersion, path, default);
        }

        if (node.ChildCount > 0)
        {
            return new OpResult(ErrorCode.NotEmpty, path, default);
        }

        var parentPath = NodePath.Parent(path);
        RemoveNode(path, node, parentPath, _nodes[parentPath]);
        return new OpResult(ErrorCode.Ok, path, default);
    }

    private void Track(string path, Node node)
    {
        if (node.Kind != NodeKind.Plain)
        {
            _reapable.Add(path);
        }
    }

    private void Untrack(string path, Node node)
    {
        if (node.Kind != NodeKind.Plain)
        {
            _reapable.Remove(path);
        }
    }
}

/// <summary>What one pass of the reaper found, and the path after which the next pass goes on (null: from the start).</summary>
public sealed record ReapScan(IReadOnlyList<ReapCandidate> Due, string? Next);
