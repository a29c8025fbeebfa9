using System.Globalization;

namespace Mesh.Registry.Consensus;

/// <summary>
/// The tail of log entries the registry's own log keeps behind each snapshot (<c>--snapshot-keep</c>):
/// a follower at most this many entries behind the snapshot is sent entries, not the whole state,
/// so it keeps its change history (watch streams and ZooKeeper sessions resuming from an index
/// before the snapshot stay up). etcd keeps 5,000 (<c>--snapshot-catchup-entries</c>).
/// </summary>
public static class SnapshotTail
{
    public const long Default = 5_000;

    /// <summary>Each kept entry costs its bytes on disk and about 50 bytes of index in memory.</summary>
    public const long Max = 1_000_000;

    /// <summary>Null when <paramref name="keep"/> is usable, otherwise a one-line error naming the flag.</summary>
    public static string? Validate(long keep) =>
        keep is >= 0 and <= Max
            ? null
            : $"--snapshot-keep {keep.ToString(CultureInfo.InvariantCulture)} must be 0 to {Max.ToString("N0", CultureInfo.InvariantCulture)} (log entries kept behind each snapshot; 0 keeps none)";
}
