using System.Text.Json;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Storage;

/// <summary>
/// The on-disk layout of one node, and the checks that keep two nodes (or a node with the wrong
/// id) from sharing it:
/// <code>
/// DIR/LOCK          held open (exclusive) while the node runs
/// DIR/node.json     { "id": 1, "peers": "1=...,2=...,3=..." } written on first start, checked after
/// DIR/wal/          DotNext write-ahead log chunks (--raft-log dotnext)
/// DIR/snapshots/    state snapshots named index-term (--raft-log dotnext)
/// DIR/raft/         the registry's own log: segments/, term-vote, commit (--raft-log mesh; its snapshots in DIR/snapshots/)
/// </code>
/// </summary>
internal sealed class DataDirectory : IDisposable
{
    private readonly FileStream _lock;

    private DataDirectory(string root, FileStream lockFile)
    {
        Root = root;
        _lock = lockFile;
    }

    public string Root { get; }

    public string WalDirectory => Path.Combine(Root, "wal");

    public string SnapshotDirectory => Path.Combine(Root, "snapshots");

    public string MeshLogDirectory => Path.Combine(Root, "raft");

    public static DataDirectory Open(string path, int nodeId, IReadOnlyList<ClusterMember> members)
    {
        var root = Path.GetFullPath(path);
        FileStream lockFile;
        try
        {
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(Path.Combine(root, "wal"));
            Directory.CreateDirectory(Path.Combine(root, "snapshots"));
            lockFile = new FileStream(Path.Combine(root, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupException($"data directory {root} is not writable", e);
        }
        catch (IOException e) when (File.Exists(Path.Combine(root, "LOCK")))
        {
            throw new StartupException($"data directory {root} is in use by another registry node", e);
        }
        catch (IOException e)
        {
            throw new StartupException($"data directory {root} cannot be created or written: {e.Message}", e);
        }

        var directory = new DataDirectory(root, lockFile);
        try
        {
            directory.CheckIdentity(nodeId, members);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
        return directory;
    }

    private void CheckIdentity(int nodeId, IReadOnlyList<ClusterMember> members)
    {
        var file = Path.Combine(Root, "node.json");
        // Single-node mode picks a fresh loopback peer port each start; only the mode is recorded.
        var peers = members.Count == 1 ? "standalone" : string.Join(',', members.Select(m => $"{m.Id}={ClusterMember.Format(m.RaftEndPoint)}"));
        if (File.Exists(file))
        {
            NodeIdentity? identity;
            try
            {
                identity = JsonSerializer.Deserialize(File.ReadAllText(file), StorageJsonContext.Default.NodeIdentity);
            }
            catch (JsonException e)
            {
                throw new StartupException($"{file} is not valid: {e.Message}", e);
            }
            if (identity is null || identity.Id != nodeId)
                throw new StartupException($"data directory {Root} belongs to node {identity?.Id}, not node {nodeId}");
            if (identity.Peers != peers)
                throw new StartupException($"data directory {Root} was created for peers {identity.Peers}, not {peers} (membership is static)");
            return;
        }
        var temp = file + ".tmp";
        try
        {
            File.WriteAllText(temp, JsonSerializer.Serialize(new NodeIdentity(nodeId, peers), StorageJsonContext.Default.NodeIdentity));
            File.Move(temp, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"data directory {Root} is not writable", e);
        }
    }

    public void Dispose() => _lock.Dispose();
}

internal sealed record NodeIdentity(int Id, string Peers);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(NodeIdentity))]
internal sealed partial class StorageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
