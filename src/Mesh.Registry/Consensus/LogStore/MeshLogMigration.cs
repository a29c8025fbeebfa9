namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// Tells which log wrote a data directory: neither log reads the other's files, so a node started
/// on the other log would come up empty and silently lose what it had. Both refuse instead.
/// </summary>
internal static class MeshLogMigration
{
    /// <summary>Whether <paramref name="walDirectory"/> holds DotNext's log and the registry's own log was never started here.</summary>
    public static bool HasDotNextData(string walDirectory, string meshLogDirectory) =>
        Directory.Exists(walDirectory) && Directory.EnumerateFileSystemEntries(walDirectory).Any()
        && !HasMeshData(meshLogDirectory);

    /// <summary>Whether the registry's own log ever ran in <paramref name="meshLogDirectory"/>.</summary>
    public static bool HasMeshData(string meshLogDirectory) =>
        !string.IsNullOrEmpty(meshLogDirectory) && Directory.Exists(Path.Combine(meshLogDirectory, "segments"))
        && Directory.EnumerateFiles(Path.Combine(meshLogDirectory, "segments")).Any();
}
