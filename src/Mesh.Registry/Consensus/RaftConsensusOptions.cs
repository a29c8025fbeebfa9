using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Consensus;

internal sealed record RaftConsensusOptions
{
    public required int LocalId { get; init; }

    public required IReadOnlyList<ClusterMember> Members { get; init; }

    /// <summary>Where the Raft transport listens, bound before the start (this node's address in <see cref="Members"/> unless it listens apart).</summary>
    public required BoundListener Listener { get; init; }

    /// <summary>Published to the other members as metadata (<see cref="RaftConsensus.ClientMetadataKey"/>); null: none.</summary>
    public System.Net.IPEndPoint? AdvertisedClientEndPoint { get; init; }

    public required string WalDirectory { get; init; }

    public required string SnapshotDirectory { get; init; }

    /// <summary>
    /// Entries between snapshots. Far above the spike's 500: every snapshot compacts the log, and a
    /// follower that falls behind the compacted prefix gets a whole-state copy instead of entries.
    /// </summary>
    public long SnapshotEvery { get; init; } = 20_000;

    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(600);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1200);

    public required ILoggerFactory LoggerFactory { get; init; }
}
