using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.ZooKeeper.Protocol;

namespace Mesh.Registry.ZooKeeper.Watches;

/// <summary>
/// One session's watches, as ZooKeeper's server keeps them: data watches (getData, and exists
/// whether or not the node is there) fire once on creation, data change or deletion; child watches
/// fire once on a child created or deleted, or the node deleted; persistent watches fire on every
/// change of their node (recursive ones: of every node below, without child events) until removed.
/// A watch set by a read of the state at index N ignores changes at or before N: the read already
/// reflected them. Pure: change events in, notifications out, in event order.
/// </summary>
public sealed class ZkWatchTable
{
    private readonly Dictionary<string, long> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _child = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _persistent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _recursive = new(StringComparer.Ordinal);

    public int Count => _data.Count + _child.Count + _persistent.Count + _recursive.Count;

    public void AddData(string path, long index) => Keep(_data, path, index);

    public void AddChild(string path, long index) => Keep(_child, path, index);

    public void AddPersistent(string path, long index, bool recursive) => Keep(recursive ? _recursive : _persistent, path, index);

    /// <summary>Removes watches of <paramref name="type"/> on <paramref name="path"/>; false when there was none (ZooKeeper's NoWatcher).</summary>
    public bool Remove(string path, WatcherType type)
    {
        var removed = false;
        if (type is WatcherType.Data or WatcherType.Any)
            removed |= _data.Remove(path);
        if (type is WatcherType.Children or WatcherType.Any)
            removed |= _child.Remove(path);
        if (type is WatcherType.Persistent or WatcherType.Any)
            removed |= _persistent.Remove(path);
        if (type is WatcherType.PersistentRecursive or WatcherType.Any)
            removed |= _recursive.Remove(path);
        return removed;
    }

    /// <summary>True when a watch of <paramref name="type"/> is set on <paramref name="path"/> (checkWatches).</summary>
    public bool Has(string path, WatcherType type) => type switch
    {
        WatcherType.Data => _data.ContainsKey(path),
        WatcherType.Children => _child.ContainsKey(path),
        WatcherType.Persistent => _persistent.ContainsKey(path),
        WatcherType.PersistentRecursive => _recursive.ContainsKey(path),
        _ => _data.ContainsKey(path) || _child.ContainsKey(path) || _persistent.ContainsKey(path) || _recursive.ContainsKey(path),
    };

    /// <summary>The notifications <paramref name="change"/> triggers, at most one per event type and path; one-shot watches it fires are gone afterwards.</summary>
    public IReadOnlyList<(WatcherEventType Type, string Path)> Fire(ChangeEvent change)
    {
        if (Count == 0)
            return [];
        var fired = new List<(WatcherEventType, string)>(1);
        var path = change.Path;
        switch (change.Type)
        {
            case ChangeEventType.Created:
                var created = Take(_data, path, change.Index) | Persistent(path, change.Index, recursiveToo: true);
                if (created)
                    fired.Add((WatcherEventType.NodeCreated, path));
                break;
            case ChangeEventType.DataChanged:
                if (Take(_data, path, change.Index) | Persistent(path, change.Index, recursiveToo: true))
                    fired.Add((WatcherEventType.NodeDataChanged, path));
                break;
            case ChangeEventType.Deleted:
                // One notification for the data and the child watch together, as ZooKeeper sends.
                if (Take(_data, path, change.Index) | Take(_child, path, change.Index) | Persistent(path, change.Index, recursiveToo: true))
                    fired.Add((WatcherEventType.NodeDeleted, path));
                break;
            case ChangeEventType.ChildrenChanged:
                if (Take(_child, path, change.Index) | Persistent(path, change.Index, recursiveToo: false))
                    fired.Add((WatcherEventType.NodeChildrenChanged, path));
                break;
        }
        return fired;
    }

    private static void Keep(Dictionary<string, long> watches, string path, long index)
    {
        // Set again after a later read: changes up to the later read are reflected already.
        watches[path] = watches.TryGetValue(path, out var existing) ? Math.Max(existing, index) : index;
    }

    private static bool Take(Dictionary<string, long> watches, string path, long index) =>
        watches.TryGetValue(path, out var setAt) && setAt < index && watches.Remove(path);

    private bool Persistent(string path, long index, bool recursiveToo)
    {
        if (_persistent.TryGetValue(path, out var setAt) && setAt < index)
            return true;
        if (!recursiveToo || _recursive.Count == 0)
            return false;
        foreach (var (root, at) in _recursive)
        {
            if (at < index && NodePath.IsSelfOrDescendant(path, root))
                return true;
        }
        return false;
    }

    /// <summary>Every watched path by kind, for a session moving to another connection (setWatches) or a dump.</summary>
    public (IReadOnlyCollection<string> Data, IReadOnlyCollection<string> Child, IReadOnlyCollection<string> Persistent, IReadOnlyCollection<string> Recursive) Paths() =>
        (_data.Keys, _child.Keys, _persistent.Keys, _recursive.Keys);
}
