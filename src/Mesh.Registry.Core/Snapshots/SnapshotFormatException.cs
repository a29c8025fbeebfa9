namespace Mesh.Registry.Core.Snapshots;

/// <summary>A snapshot that cannot be restored: not a snapshot, a newer format, truncated or corrupted.</summary>
public sealed class SnapshotFormatException(string message) : FormatException(message);
