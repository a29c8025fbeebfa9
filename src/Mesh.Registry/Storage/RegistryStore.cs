using Mesh.Registry.Consensus;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Telemetry;
using Mesh.Registry.Watches;

namespace Mesh.Registry.Storage;

/// <summary>
/// This node's copy of the replicated state: the core <see cref="RegistryStateMachine"/> (not
/// thread-safe) behind one lock, fed in log order by the consensus layer, and the source of the
/// node's <see cref="WatchHub"/>. Reads run under the same lock; they are dictionary lookups.
/// </summary>
internal sealed class RegistryStore(WatchHub hub, RegistryMetrics metrics) : IReplicatedStateMachine
{
    private readonly Lock _gate = new();
    private RegistryStateMachine _state = new();

    public WatchHub Hub => hub;

    public long AppliedIndex => hub.AppliedIndex;

    public T Read<T>(Func<RegistryStateMachine, T> read)
    {
        lock (_gate)
            return read(_state);
    }

    /// <summary>
    /// The data of the node at <paramref name="path"/> when its data last changed at
    /// <paramref name="index"/>, else null: what a <c>data=true</c> watch record of that change
    /// carries. Called by the fan-out right after the command at the index was applied.
    /// </summary>
    /// <summary>
    /// Whether anyone may read the node at <paramref name="path"/>; for a node that is gone (a
    /// deletion being reported), its deepest ancestor still there decides, as the ZooKeeper port
    /// decides which session hears of it. Join tokens hear only of such nodes.
    /// </summary>
    public bool IsOpenToAnyone(string path)
    {
        lock (_gate)
            return IsOpenToAnyone(_state, path);
    }

    /// <summary><see cref="IsOpenToAnyone(string)"/> in a state already read (under <see cref="Read{T}"/>).</summary>
    public static bool IsOpenToAnyone(RegistryStateMachine state, string path)
    {
        for (var at = path; ; at = Core.Paths.NodePath.Parent(at))
        {
            var acl = state.GetAcl(at);
            if (acl.Error == Core.Results.ErrorCode.Ok)
                return Api.Access.NodeReadAccess.IsWorldReadable(acl.Acl);
            if (at == Core.Paths.NodePath.Root)
                return true;
        }
    }

    public WatchValue? ValueAt(string path, long index)
    {
        lock (_gate)
        {
            // One record goes to every stream that asked for data, whoever its reader: a node that
            // not anyone may read goes without, and each reader's own read is checked.
            var node = _state.GetNode(path);
            return node.IsOk && node.Stat.ModifiedIndex == index && Api.Access.NodeReadAccess.IsWorldReadable(_state.GetAcl(path).Acl)
                ? new WatchValue(node.Data, node.Stat.Version)
                : null;
        }
    }

    public object? Apply(long index, ReadOnlyMemory<byte> command)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Command decoded;
        try
        {
            decoded = CommandCodec.Decode(command.Span);
        }
        catch (CommandFormatException e)
        {
            // Deterministic on every replica (same bytes), so rejecting it keeps replicas equal.
            hub.Publish(index, []);
            return new CommandRejected(e.Message);
        }

        ApplyResult result;
        lock (_gate)
            result = _state.Apply(index, decoded);

        hub.Publish(index, result.Events);
        metrics.RecordApply(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return result;
    }

    public void ApplyNoOp(long index) => hub.Publish(index, []);

    public void WriteSnapshot(Stream destination)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var position = destination.CanSeek ? destination.Position : 0;
        lock (_gate)
            _state.WriteSnapshot(destination);
        metrics.RecordSnapshot(System.Diagnostics.Stopwatch.GetElapsedTime(started), destination.CanSeek ? destination.Position - position : -1);
    }

    public void Reset()
    {
        lock (_gate)
            _state = new RegistryStateMachine();
        hub.Reset(0);
    }

    public void ReadSnapshot(Stream source, long index)
    {
        var state = RegistryStateMachine.ReadSnapshot(source);
        lock (_gate)
            _state = state;
        hub.Reset(index);
    }
}

/// <summary>Apply's answer for bytes that are not a command (a bug or a version mismatch, never a client error).</summary>
internal sealed record CommandRejected(string Message);
