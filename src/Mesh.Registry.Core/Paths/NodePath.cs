namespace Mesh.Registry.Core.Paths;

/// <summary>
/// Node paths: <c>/</c>-separated, absolute, compared ordinally. A path is valid when it starts
/// with <c>/</c>, is <c>/</c> itself or has no trailing slash, has no empty, <c>.</c> or
/// <c>..</c> segment, no control character, no unpaired surrogate, and at most
/// <see cref="MaxLength"/> characters. Invalid paths are rejected before anything is stored.
/// </summary>
public static class NodePath
{
    public const string Root = "/";

    /// <summary>Longest accepted path, in UTF-16 characters (sequential suffix included).</summary>
    public const int MaxLength = 4096;

    public static bool IsValid(string? path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > MaxLength || path[0] != '/')
        {
            return false;
        }

        if (path.Length == 1)
        {
            return true;
        }

        var segmentStart = 1;
        for (var i = 1; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '/')
            {
                var length = i - segmentStart;
                if (length == 0)
                {
                    return false;
                }

                if (path[segmentStart] == '.' && (length == 1 || (length == 2 && path[segmentStart + 1] == '.')))
                {
                    return false;
                }

                segmentStart = i + 1;
                continue;
            }

            var c = path[i];
            if (char.IsControl(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= path.Length || !char.IsLowSurrogate(path[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The parent of a valid non-root path (<c>/a/b</c> → <c>/a</c>, <c>/a</c> → <c>/</c>).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash == 0 ? Root : path[..slash];
    }

    /// <summary>The last segment of a valid non-root path.</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>Joins a parent path and a child name.</summary>
    public static string Combine(string parent, string name) =>
        parent.Length == 1 ? string.Concat(Root, name) : string.Concat(parent, Root, name);

    /// <summary>True when <paramref name="path"/> is <paramref name="ancestor"/> or below it.</summary>
    public static bool IsSelfOrDescendant(string path, string ancestor) =>
        ancestor.Length == 1
        || (path.StartsWith(ancestor, StringComparison.Ordinal)
            && (path.Length == ancestor.Length || path[ancestor.Length] == '/'));
}
