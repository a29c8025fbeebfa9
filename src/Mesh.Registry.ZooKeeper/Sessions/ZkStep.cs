using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// What the edge must do for one request. The session decides; the edge runs reads under the
/// store's lock, proposes writes, waits for syncs, checks credentials, and sends the replies in
/// request order.
/// </summary>
public abstract record ZkStep
{
    /// <summary>Send this reply now (ping, errors found without the tree, unimplemented ops).</summary>
    public sealed record Answer(ZkReply Reply) : ZkStep;

    /// <summary>Run against this node's applied state (under its lock) and send what it returns.</summary>
    public sealed record Read(Func<RegistryStateMachine, ZkReply> Run) : ZkStep;

    /// <summary>
    /// Run <paramref name="Next"/> against this node's applied state (under its lock) until it returns
    /// the reply, releasing the lock between calls: for reads that walk more of the tree than one
    /// lock hold should, so writes are applied between the slices.
    /// </summary>
    public sealed record Slices(Func<RegistryStateMachine, ZkReply?> Next) : ZkStep;

    /// <summary>Propose the command made from the header, then build the reply from its result and the state after it.</summary>
    public sealed record Write(Func<CommandHeader, Command> Command, Func<ApplyResult, RegistryStateMachine, ZkReply> Complete) : ZkStep;

    /// <summary>Catch this node up with the leader, then answer with the path.</summary>
    public sealed record Sync(int Xid, string Path) : ZkStep;

    /// <summary>Check credentials; a failure closes the connection after the AuthFailed reply.</summary>
    public sealed record Authenticate(AuthPacket Packet) : ZkStep;

    /// <summary>Close the registry session (its ephemerals go with it), answer, and close the connection.</summary>
    public sealed record CloseSession(int Xid) : ZkStep;
}
