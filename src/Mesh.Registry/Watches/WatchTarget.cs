namespace Mesh.Registry.Watches;

/// <summary>What one watch of a stream covers.</summary>
internal enum WatchKind : byte
{
    /// <summary>Changes to exactly one node.</summary>
    Exact,

    /// <summary>Changes to a node and every node below it.</summary>
    Prefix,

    /// <summary>Changes to the CA's trust bundle (reported without the CA's paths).</summary>
    TrustBundle,
}

/// <summary>One watch of a stream: a kind and, for <see cref="WatchKind.Exact"/> and <see cref="WatchKind.Prefix"/>, a node path.</summary>
internal readonly record struct WatchTarget(WatchKind Kind, string Path)
{
    public static WatchTarget Trust { get; } = new(WatchKind.TrustBundle, "");

    /// <summary>Whether a change at <paramref name="eventPath"/> is this watch's (not used for the trust bundle, which the fan-out finds by its own path).</summary>
    public bool Matches(string eventPath) => Kind switch
    {
        WatchKind.Exact => string.Equals(eventPath, Path, StringComparison.Ordinal),
        WatchKind.Prefix => WatchHub.Matches(eventPath, Path, recursive: true),
        _ => false,
    };
}
