using Mesh.Registry.Core.Events;

namespace Mesh.Registry.Watches;

/// <summary>The result of a watch: matching events in index order and the index to resume after.</summary>
internal sealed record WatchResult(long Index, IReadOnlyList<ChangeEvent> Events);

/// <summary>The asked-for index is older than the kept history; the client must re-read and watch from there.</summary>
internal sealed class IndexCompactedException(long after, long oldest, string? message = null)
    : Exception(message ?? $"Changes after index {after} are no longer kept (history starts after {oldest}); re-read and watch from the read's index.")
{
    public long Oldest { get; } = oldest;
}
