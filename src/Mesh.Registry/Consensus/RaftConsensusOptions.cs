using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Consensus;

internal sealed record RaftConsensusOptions
{
    public required int LocalId { get; init; }

    public required IReadOnlyList<ClusterMember> Members { get; init; }

    /// <summary>Where the Raft transport listens, bound before the start (this node's address in <see cref="Members"/> unless it listens apart).</summary>
    public required BoundListener Listener { get; init; }

    /// <summary>Mutual TLS on every peer connection, from the cluster key; null: plain TCP.</summary>
    public PeerTls.PeerHandshake? PeerTls { get; init; }

    /// <summary>Published to the other members as metadata (<see cref="RaftConsensus.ClientMetadataKey"/>); null: none.</summary>
    public System.Net.IPEndPoint? AdvertisedClientEndPoint { get; init; }

    public required string WalDirectory { get; init; }

    public required string SnapshotDirectory { get; init; }

    /// <summary>Which Raft log to run: the registry's own, DotNext's write-ahead log, or (the default) whichever the data directory holds (see docs/registry.md).</summary>
    public RaftLogKind RaftLog { get; init; } = RaftLogKinds.Default;

    /// <summary>Where the registry's own log keeps its segments, term and vote, and snapshots (<see cref="RaftLogKind.Mesh"/> only).</summary>
    public string MeshLogDirectory { get; init; } = "";

    /// <summary>Size of each preallocated log segment (<see cref="RaftLogKind.Mesh"/> only).</summary>
    public long SegmentSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Entries between snapshots. Far above the spike's 500: every snapshot compacts the log, and a
    /// follower that falls behind the compacted prefix gets a whole-state copy instead of entries.
    /// </summary>
    public long SnapshotEvery { get; init; } = 20_000;

    /// <summary>
    /// Entries the log keeps before each snapshot's index when it compacts (<see cref="RaftLogKind.Mesh"/>
    /// only): a follower at most this far behind the snapshot is sent entries, not the whole state
    /// (which would cost it its change history). etcd keeps 5,000 (<c>--snapshot-catchup-entries</c>).
    /// </summary>
    public long SnapshotKeep { get; init; } = SnapshotTail.Default;

    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(600);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1200);

    public required ILoggerFactory LoggerFactory { get; init; }
}

/// <summary>The Raft log a node runs on.</summary>
public enum RaftLogKind
{
    /// <summary>DotNext's <c>WriteAheadLog</c>, flushed on every follower append.</summary>
    DotNext,

    /// <summary>The registry's own segmented log with group commit (Consensus/LogStore).</summary>
    Mesh,

    /// <summary>
    /// <see cref="Mesh"/> for an empty data directory, otherwise the log that wrote it (so an upgraded
    /// node on DotNext's log keeps its data); resolved when the node starts.
    /// </summary>
    Auto,
}

public static class RaftLogKinds
{
    /// <summary>The environment variable that changes the default log (so a whole test suite can run on either).</summary>
    public const string EnvironmentVariable = "MESH_RAFT_LOG";

    /// <summary><see cref="RaftLogKind.Auto"/> unless <see cref="EnvironmentVariable"/> names another.</summary>
    public static RaftLogKind Default =>
        Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)) ?? RaftLogKind.Auto;

    /// <summary>"auto", "mesh" or "dotnext" (any case); null for null or empty; a clear error otherwise.</summary>
    public static RaftLogKind? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "auto" => RaftLogKind.Auto,
        "mesh" => RaftLogKind.Mesh,
        "dotnext" => RaftLogKind.DotNext,
        _ => throw new FormatException($"unknown raft log '{text}': use auto, mesh or dotnext"),
    };
}
