namespace Mesh.Registry.Client;

/// <summary>What one watch of a streaming watch covers.</summary>
public enum StreamWatchKind
{
    /// <summary>One node (<c>path=</c>).</summary>
    Node,

    /// <summary>A node and everything below it (<c>prefix=</c>).</summary>
    Prefix,

    /// <summary>The CA's trust bundle (<c>trust=true</c>): a <c>trustBundle</c> record when its roots change.</summary>
    TrustBundle,
}

/// <summary>One watch carried by a streaming watch (docs/registry-api.md, "Streaming watches").</summary>
public readonly record struct StreamWatch(StreamWatchKind Kind, string Path)
{
    public static StreamWatch Node(string path) => new(StreamWatchKind.Node, path);

    public static StreamWatch Prefix(string path) => new(StreamWatchKind.Prefix, path);

    public static StreamWatch TrustBundle { get; } = new(StreamWatchKind.TrustBundle, "");

    /// <summary>Whether a record (a change at a path, or a trust bundle mark) belongs to this watch.</summary>
    public bool Covers(Contracts.WatchStreamRecord record)
    {
        if (Kind == StreamWatchKind.TrustBundle)
            return record.Type == Contracts.WatchStreamRecord.TrustBundle;
        if (!record.IsChange || record.Path is not { } path)
            return false;
        // A Curator instance under another base path counts as a change of its /services/NAME too.
        return Matches(path) || Kind == StreamWatchKind.Prefix && record.ServicePath == Path;
    }

    private bool Matches(string path)
    {
        if (Kind == StreamWatchKind.Node || path == Path)
            return path == Path;
        return Path == "/" || (path.Length > Path.Length && path[Path.Length] == '/' && path.StartsWith(Path, StringComparison.Ordinal));
    }

    internal string Query => Kind switch
    {
        StreamWatchKind.TrustBundle => "trust=true",
        StreamWatchKind.Node => "path=" + Uri.EscapeDataString(Path),
        _ => "prefix=" + Uri.EscapeDataString(Path),
    };
}
