using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Quotas;
using Mesh.Registry.ZooKeeper.Protocol;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>What one session may read and change; null means allowed, otherwise the error to answer.</summary>
public interface IZkAccess
{
    ZkError? CanRead(string path);

    ZkError? CanWrite(string path);

    /// <summary>
    /// Called once per write the paths allowed: the ops to run before it in the same transaction
    /// (a join token's secure-naming guards) and the quota its commands count against, or the
    /// error to refuse it with. Operators and open mode add nothing.
    /// </summary>
    ZkWritePlan PlanWrite(IReadOnlyList<TxnOp> ops) => ZkWritePlan.Unguarded;
}

/// <summary>What <see cref="IZkAccess.PlanWrite"/> decided.</summary>
/// <param name="Guards">Ops run first in the same transaction; if one fails the write is answered NoAuth (the ownership it was allowed on changed).</param>
/// <param name="Quota">The owner the write's nodes count against, or null.</param>
/// <param name="Error">Non-null: refuse the write with it, proposing nothing.</param>
public sealed record ZkWritePlan(IReadOnlyList<TxnOp> Guards, Quota? Quota, ZkError? Error = null)
{
    public static ZkWritePlan Unguarded { get; } = new([], null);

    public static ZkWritePlan Refuse(ZkError error) => new([], null, error);
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

    /// <summary>Access decided by <paramref name="canRead"/> and <paramref name="canWrite"/> (and <paramref name="planWrite"/> for the writes allowed), with <see cref="CaRoot"/> always closed.</summary>
    public static IZkAccess Custom(Func<string, ZkError?> canRead, Func<string, ZkError?> canWrite, Func<IReadOnlyList<TxnOp>, ZkWritePlan>? planWrite = null) =>
        new Rules(canRead, canWrite, planWrite);

    public static bool IsCaPath(string path) => NodePath.IsSelfOrDescendant(path, CaRoot);

    private sealed class Rules(Func<string, ZkError?> read, Func<string, ZkError?> write, Func<IReadOnlyList<TxnOp>, ZkWritePlan>? plan = null) : IZkAccess
    {
        public ZkWritePlan PlanWrite(IReadOnlyList<TxnOp> ops) => plan?.Invoke(ops) ?? ZkWritePlan.Unguarded;

        public ZkError? CanRead(string path) => IsCaPath(path) ? ZkError.NoAuth : read(path);

        // A delete of an ancestor of the CA would take it with it; the registry has no recursive
        // delete over ZooKeeper, and a node with children cannot be deleted, so the CA root itself is enough.
        public ZkError? CanWrite(string path) => IsCaPath(path) ? ZkError.NoAuth : write(path);
    }
}
