namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>What <see cref="TornWrite.TruncateNewestFile"/> did.</summary>
internal sealed record TornFile(string Path, long LengthBefore, long LengthAfter);

/// <summary>
/// Simulates a torn last write — the machine lost power while appending — by cutting the last
/// bytes off the most recently written file of a node's data directory (its log segment or
/// snapshot). Use it on a killed node, before restarting it.
/// </summary>
internal static class TornWrite
{
    /// <summary>
    /// Truncates the last <paramref name="bytes"/> bytes (or all, if shorter) of the newest file
    /// under <paramref name="directory"/>: the latest last-write time, ties broken by the larger
    /// name (segments are usually numbered). Returns null when there is no file.
    /// </summary>
    public static TornFile? TruncateNewestFile(string directory, int bytes, string searchPattern = "*", bool recursive = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var newest = new DirectoryInfo(directory)
            .EnumerateFiles(searchPattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .ThenByDescending(f => f.FullName, StringComparer.Ordinal)
            .FirstOrDefault();
        if (newest is null)
            return null;

        var before = newest.Length;
        var after = Math.Max(0, before - bytes);
        using (var stream = new FileStream(newest.FullName, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.SetLength(after);
            stream.Flush(flushToDisk: true);
        }
        return new TornFile(newest.FullName, before, after);
    }
}
