using Mesh.Registry.Core.Quotas;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Quota accounting. Every node and session remembers the owner it was created for; the usage of
// each owner is kept up to date by the few primitives that add, remove or resize nodes and open
// or end sessions (and by the undo of a transaction), and is rebuilt from the nodes and sessions
// when a snapshot is read, so it is never stored and can never drift from the tree.
public sealed partial class RegistryStateMachine
{
    private readonly Dictionary<string, long[]> _usage = new(StringComparer.Ordinal);

    /// <summary>What <paramref name="owner"/> holds now.</summary>
    public QuotaUsage UsageOf(string owner) =>
        _usage.TryGetValue(owner, out var u) ? new QuotaUsage(u[0], u[1], u[2]) : default;

    private void Count(string? owner, long nodes, long bytes, long sessions)
    {
        if (owner is null || (nodes == 0 && bytes == 0 && sessions == 0))
        {
            return;
        }

        if (!_usage.TryGetValue(owner, out var u))
        {
            _usage.Add(owner, u = new long[3]);
        }

        u[0] += nodes;
        u[1] += bytes;
        u[2] += sessions;
        if (u[0] == 0 && u[1] == 0 && u[2] == 0)
        {
            _usage.Remove(owner);
        }
    }

    // A node op under the command's quota. When it would leave the owner over a limit it was not
    // already over (a lowered limit never blocks a write that shrinks usage), it fails with the
    // quota's error. Inside a transaction the transaction's rollback undoes it; alone, it is
    // undone here, so a refused write changes nothing and emits no event.
    private OpResult WithinQuota(Func<OpResult> op)
    {
        if (_quota is not { } quota)
        {
            return op();
        }

        var before = UsageOf(quota.Owner);
        var alone = _undo is null;
        var events = _events.Count;
        if (alone)
        {
            _undo = [];
        }

        try
        {
            var result = op();
            if (result.Error != ErrorCode.Ok)
            {
                return result;
            }

            var after = UsageOf(quota.Owner);
            var error = after.Nodes > before.Nodes && after.Nodes > quota.MaxNodes ? ErrorCode.NodeQuotaExceeded
                : after.Bytes > before.Bytes && after.Bytes > quota.MaxBytes ? ErrorCode.ByteQuotaExceeded
                : ErrorCode.Ok;
            if (error == ErrorCode.Ok)
            {
                return result;
            }

            if (alone)
            {
                Rollback(_undo!);
                _events.RemoveRange(events, _events.Count - events);
            }

            return new OpResult(error, result.Path, default);
        }
        finally
        {
            if (alone)
            {
                _undo = null;
            }
        }
    }

    // After a snapshot is read: the usage of every owner, from the nodes and sessions.
    private void RecountUsage()
    {
        _usage.Clear();
        foreach (var node in _nodes.Values)
        {
            Count(node.Owner, 1, node.Data.Length, 0);
        }

        foreach (var session in _sessions.Values)
        {
            Count(session.Owner, 0, 0, 1);
        }
    }
}
