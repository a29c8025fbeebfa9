using Mesh.Registry.Core.Paths;
using Mesh.Registry.ZooKeeper.Protocol;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>What one session may read and change; null means allowed, otherwise the error to answer.</summary>
public interface IZkAccess
{
    ZkError? CanRead(string path);

    ZkError? CanWrite(string path);
}

/// <summary>The access rules every mode shares, and the built-in modes.</summary>
public static class ZkAccess
{
    /// <summary>The certificate authority's state: never served over ZooKeeper, whoever asks.</summary>
    public const string CaRoot = "/mesh/ca";

    /// <summary>Development mode (<c>--zk-open</c>): anything but <see cref="CaRoot"/>.</summary>
    public static IZkAccess Open { get; } = new Rules(_ => null, _ => null);

    /// <summary>Before a session authenticates (and open mode is off): nothing.</summary>
    public static IZkAccess None { get; } = new Rules(_ => ZkError.NoAuth, _ => ZkError.NoAuth);

    /// <summary>Access decided by <paramref name="canRead"/> and <paramref name="canWrite"/>, with <see cref="CaRoot"/> always closed.</summary>
    public static IZkAccess Custom(Func<string, ZkError?> canRead, Func<string, ZkError?> canWrite) => new Rules(canRead, canWrite);

    public static bool IsCaPath(string path) => NodePath.IsSelfOrDescendant(path, CaRoot);

    private sealed class Rules(Func<string, ZkError?> read, Func<string, ZkError?> write) : IZkAccess
    {
        public ZkError? CanRead(string path) => IsCaPath(path) ? ZkError.NoAuth : read(path);

        // A delete of an ancestor of the CA would take it with it; the registry has no recursive
        // delete over ZooKeeper, and a node with children cannot be deleted, so the CA root itself is enough.
        public ZkError? CanWrite(string path) => IsCaPath(path) ? ZkError.NoAuth : write(path);
    }
}
