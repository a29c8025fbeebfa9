namespace Mesh.Registry.Watches;

/// <summary>One change to one node, at the log index of the command that made it.</summary>
internal readonly record struct WatchEvent(long Index, WatchEventType Type, string Path);

internal enum WatchEventType
{
    Created,
    DataChanged,
    Deleted,
    ChildrenChanged,
}

/// <summary>The result of a watch: matching events in index order and the index to resume after.</summary>
internal sealed record WatchResult(long Index, IReadOnlyList<WatchEvent> Events);

/// <summary>The asked-for index is older than the kept history; the client must re-read and watch from there.</summary>
internal sealed class IndexCompactedException(long after, long oldest)
    : Exception($"Changes after index {after} are no longer kept (history starts after {oldest}); re-read and watch from the read's index.")
{
    public long Oldest { get; } = oldest;
}
