namespace Mesh.Registry.Consensus;

/// <summary>
/// The replicated log as the rest of the registry sees it: propose an opaque command and get the
/// state machine's result once it is committed and applied here, a linearizable read barrier, and
/// who leads. Everything Raft-library specific stays behind this interface (see
/// <see cref="RaftConsensus"/>), so the library could be replaced without touching the API layer.
/// </summary>
internal interface IConsensus : IAsyncDisposable
{
    int LocalId { get; }

    ConsensusRole Role { get; }

    long Term { get; }

    /// <summary>The current leader's id, or null while there is none (election, no quorum).</summary>
    int? LeaderId { get; }

    long CommitIndex { get; }

    long AppliedIndex { get; }

    /// <summary>Cancelled when this node stops being leader; already cancelled on a follower.</summary>
    CancellationToken LeadershipToken { get; }

    /// <summary>Raised (on a thread-pool thread) whenever the known leader changes, with the new leader id or null.</summary>
    event Action<int?>? LeaderChanged;

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="command"/> to the log and completes with what
    /// <see cref="IReplicatedStateMachine.Apply"/> returned for it, once a majority has it and it is
    /// applied on this node. Throws <see cref="NotLeaderException"/> only when this node is not the
    /// leader before the command is handed to the log (nothing was proposed), and
    /// <see cref="OutcomeUnknownException"/> for any failure after that (leadership or quorum lost,
    /// the node stopping): the command may still commit under a new leader.
    /// </summary>
    Task<object?> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken);

    /// <summary>On the leader: after it returns, local state reflects every write acknowledged before the call.</summary>
    Task ReadBarrierAsync(CancellationToken cancellationToken);

    Task WaitForAppliedAsync(long index, CancellationToken cancellationToken);

    IReadOnlyList<MemberState> Members { get; }

    /// <summary>
    /// The client API address member <paramref name="id"/> publishes to the cluster (its
    /// <c>--advertise-client</c>), or null when it publishes none or cannot be asked now.
    /// </summary>
    ValueTask<System.Net.IPEndPoint?> PublishedClientEndPointAsync(int id, CancellationToken cancellationToken);
}

internal enum ConsensusRole
{
    Follower,
    Candidate,
    Leader,

    /// <summary>A single-member cluster: always its own leader once started.</summary>
    Standalone,
}

/// <param name="Available">False when the last contact with the member failed.</param>
/// <param name="Lag">Committed entries the member has not applied yet; null where not known (remote members).</param>
internal sealed record MemberState(int Id, string Address, bool IsLeader, bool IsLocal, bool Available, long? Lag);

/// <summary>This node cannot serve the request as leader; <see cref="LeaderId"/> is the one to ask, if known.</summary>
internal sealed class NotLeaderException(int? leaderId)
    : Exception(leaderId is null ? "There is no leader right now." : $"Node {leaderId} is the leader.")
{
    public int? LeaderId { get; } = leaderId;
}

/// <summary>No quorum reachable right now; the caller should retry later.</summary>
internal sealed class QuorumUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The command was handed to the log but no result came back (leadership or quorum lost, the node
/// stopping, or the write timeout): it may or may not be applied, now or later under a new leader.
/// </summary>
internal sealed class OutcomeUnknownException(string message, Exception? inner = null) : Exception(message, inner);
