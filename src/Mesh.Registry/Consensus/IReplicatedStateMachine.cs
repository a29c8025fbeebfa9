namespace Mesh.Registry.Consensus;

/// <summary>
/// What the consensus layer drives: committed commands in log order on one thread, and whole-state
/// snapshots. Reads from other threads are the implementation's business.
/// </summary>
internal interface IReplicatedStateMachine
{
    /// <summary>Applies one committed command; the result goes back to the proposer if it is on this node.</summary>
    object? Apply(long index, ReadOnlyMemory<byte> command);

    /// <summary>Called for entries without a command (a new leader's term-start entry) so the applied index advances.</summary>
    void ApplyNoOp(long index);

    /// <summary>Writes the whole state as of the last applied index. No <see cref="Apply"/> runs meanwhile.</summary>
    void WriteSnapshot(Stream destination);

    /// <summary>Forgets everything: back to the empty state before index 1, ready for a snapshot and a replay of the log.</summary>
    void Reset();

    /// <summary>Replaces the whole state with a snapshot taken at <paramref name="index"/> (startup, or sent by the leader).</summary>
    void ReadSnapshot(Stream source, long index);
}
