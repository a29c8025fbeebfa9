using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Transactions apply their ops in place while recording an undo log; when an op fails the log
// is replayed backwards, so the tree is exactly as before and no event is emitted.
public sealed partial class RegistryStateMachine
{
    private List<UndoEntry>? _undo;

    private ApplyResult ApplyTransaction(IReadOnlyList<TxnOp> ops)
    {
        var results = new OpResult[ops.Count];
        var failed = -1;
        _undo = [];
        try
        {
            for (var i = 0; i < ops.Count; i++)
            {
                var op = ops[i];
                results[i] = op switch
                {
                    CheckVersionOp o => CheckVersion(o.Path, o.ExpectedVersion),
                    CreateOp o => WithinQuota(() => CreateNode(o.Path, o.Data, o.Mode, o.SessionId, o.CreateParents, o.Acl, o.TtlMs)),
                    SetAclOp o => SetNodeAcl(o.Path, o.Acl, o.ExpectedVersion),
                    SetDataOp o => WithinQuota(() => SetNodeData(o.Path, o.Data, o.ExpectedVersion)),
                    DeleteOp o => DeleteNode(o.Path, o.ExpectedVersion, o.Recursive),
                    _ => throw new ArgumentException($"unknown transaction op {op?.GetType().Name ?? "null"}", nameof(ops)),
                };
                if (results[i].Error != ErrorCode.Ok)
                {
                    failed = i;
                    break;
                }
            }

            if (failed >= 0)
            {
                Rollback(_undo);
                _events.Clear();
                for (var i = 0; i < results.Length; i++)
                {
                    if (i != failed)
                    {
                        results[i] = new OpResult(ErrorCode.RolledBack, ops[i].Path ?? string.Empty, default);
                    }
                }
            }
        }
        finally
        {
            _undo = null;
        }

        return new ApplyResult
        {
            Index = _index,
            Error = failed < 0 ? ErrorCode.Ok : results[failed].Error,
            OpResults = results,
            FailedOp = failed,
            Events = TakeEvents(),
        };
    }

    private void Rollback(List<UndoEntry> undo)
    {
        for (var i = undo.Count - 1; i >= 0; i--)
        {
            var entry = undo[i];
            switch (entry.Kind)
            {
                case UndoKind.Created:
                    Count(entry.Node.Owner, -1, -entry.Node.Data.Length, 0);
                    _nodes.Remove(entry.Path!);
                    Untrack(entry.Path!, entry.Node);
                    entry.Parent!.RemoveChild(entry.Node);
                    entry.Parent.ChildVersion--;
                    entry.Parent.ChildModifiedIndex = entry.ModifiedIndex;
                    if (entry.Node.EphemeralOwner != 0)
                    {
                        _sessions[entry.Node.EphemeralOwner].Ephemerals.Remove(entry.Path!);
                    }

                    break;
                case UndoKind.Deleted:
                    Count(entry.Node.Owner, 1, entry.Node.Data.Length, 0);
                    _nodes.Add(entry.Path!, entry.Node);
                    Track(entry.Path!, entry.Node);
                    entry.Parent!.AddChild(entry.Node);
                    entry.Parent.ChildVersion--;
                    entry.Parent.ChildModifiedIndex = entry.ModifiedIndex;
                    if (entry.Node.EphemeralOwner != 0)
                    {
                        _sessions[entry.Node.EphemeralOwner].Ephemerals.Add(entry.Path!);
                    }

                    break;
                case UndoKind.DataSet:
                    Count(entry.Node.Owner, 0, entry.Data.Length - entry.Node.Data.Length, 0);
                    entry.Node.Data = entry.Data;
                    entry.Node.Version = entry.Version;
                    entry.Node.ModifiedIndex = entry.ModifiedIndex;
                    entry.Node.ModifiedTime = entry.ModifiedTime;
                    break;
                case UndoKind.AclSet:
                    entry.Node.Acl = entry.Acl;
                    entry.Node.AclVersion = entry.Version;
                    break;
            }
        }
    }
}
