using System.Globalization;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// Whole-state snapshots as files named <c>index-term</c> (the naming DotNext's
/// SimpleStateMachine used, so the directory reads the same to an operator), each written
/// atomically; only the newest is kept.
/// </summary>
internal sealed class SnapshotFiles(string directory)
{
    public SnapshotInfo? Latest()
    {
        SnapshotInfo? latest = null;
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (TryParse(Path.GetFileName(file), out var index, out var term) && (latest is null || index > latest.Value.Index))
                latest = new SnapshotInfo(index, term, file);
        }
        return latest;
    }

    public SnapshotInfo Write(long index, long term, ReadOnlySpan<byte> state)
    {
        var path = Path.Combine(directory, index.ToString(CultureInfo.InvariantCulture) + "-" + term.ToString(CultureInfo.InvariantCulture));
        Durable.WriteAtomically(path, state);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (TryParse(Path.GetFileName(file), out var other, out _) && other < index)
                File.Delete(file);
        }
        return new SnapshotInfo(index, term, path);
    }

    private static bool TryParse(string name, out long index, out long term)
    {
        index = term = 0;
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out index)
            && long.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out term);
    }
}

internal readonly record struct SnapshotInfo(long Index, long Term, string Path);
