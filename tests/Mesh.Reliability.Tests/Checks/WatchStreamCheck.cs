namespace Mesh.Reliability.Tests.Checks;

/// <summary>One change event as a watcher received it.</summary>
internal sealed record WatchEvent(long Index, string Path, string Type = "");

/// <summary>
/// What one watcher received: events after index <see cref="After"/> up to and including index
/// <see cref="UpTo"/> (the last <c>index</c> the server answered), in the order received —
/// possibly across several nodes as the watcher failed over.
/// </summary>
internal sealed record WatchStream(string Name, long After, long UpTo, IReadOnlyList<WatchEvent> Events);

/// <summary>
/// A watch stream is in index order, has no duplicates, no gaps (every committed change the watch
/// covers between <see cref="WatchStream.After"/> and <see cref="WatchStream.UpTo"/> is there) and
/// no phantoms (no event at an index where nothing it covers was committed).
/// </summary>
internal static class WatchStreamCheck
{
    public const string Name = "watch streams are complete and ordered";

    /// <param name="committed">The indexes of the committed writes this watch covers (its path, and below it if recursive).</param>
    public static IReadOnlyList<Violation> Check(WatchStream stream, IReadOnlySet<long> committed)
    {
        var violations = new List<Violation>();
        void Add(string message) => violations.Add(new Violation(Name, $"watch '{stream.Name}': {message}"));

        var seen = new HashSet<WatchEvent>();
        var previous = stream.After;
        foreach (var e in stream.Events)
        {
            if (e.Index <= stream.After)
                Add($"event {e.Index} {e.Path} is not after the watch's start index {stream.After}");
            else if (e.Index < previous)
                Add($"event {e.Index} {e.Path} arrived after event {previous}: out of order");
            if (e.Index > stream.UpTo)
                Add($"event {e.Index} {e.Path} is beyond the last index the server reported ({stream.UpTo})");
            if (!seen.Add(e))
                Add($"event {e.Index} {e.Type} {e.Path} was delivered twice");
            if (!committed.Contains(e.Index))
                Add($"event {e.Index} {e.Path} has no committed write at that index");
            previous = Math.Max(previous, e.Index);
        }

        var delivered = stream.Events.Select(e => e.Index).ToHashSet();
        var missing = committed.Where(i => i > stream.After && i <= stream.UpTo && !delivered.Contains(i)).Order().ToList();
        if (missing.Count > 0)
            Add($"gap: committed {(missing.Count == 1 ? "index" : "indexes")} {string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : "")} never delivered");
        return violations;
    }
}
