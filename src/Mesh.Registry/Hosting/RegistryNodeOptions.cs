using System.Net;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Hosting;

/// <summary>Everything one registry node needs; <see cref="RegistryNode"/> validates it on start.</summary>
public sealed record RegistryNodeOptions
{
    /// <summary>This node's id; must be one of <see cref="Members"/> unless that is empty (single-node mode).</summary>
    public required int Id { get; init; }

    /// <summary>The static voting membership (1, 3 or 5 members), this node included. Empty = single-node mode.</summary>
    public IReadOnlyList<ClusterMember> Members { get; init; } = [];

    public required string DataDirectory { get; init; }

    /// <summary>Where the HTTP client API listens (<c>--client</c>); port 0: a port the system chooses, published to the cluster.</summary>
    public required IPEndPoint ClientEndPoint { get; init; }

    /// <summary>
    /// The client API address this node publishes to the cluster, so followers can forward to it
    /// when it leads (<c>--advertise-client</c>). Null: <see cref="ClientEndPoint"/>, unless that
    /// is a wildcard address (0.0.0.0, ::), which is published as nothing.
    /// </summary>
    public IPEndPoint? AdvertisedClientEndPoint { get; init; }

    /// <summary>
    /// Where the Raft transport listens (<c>--listen-peer</c>). Null: this node's own address in
    /// <see cref="Members"/>, which is always the address the other members use and know it by
    /// (its advertised peer address), e.g. a relay or NAT in front of a wildcard listener.
    /// </summary>
    public IPEndPoint? PeerListenEndPoint { get; init; }

    /// <summary>
    /// The Raft listener, bound by the launcher before the start (used instead of
    /// <see cref="PeerListenEndPoint"/>): a launcher that starts several nodes on one host binds
    /// each on port 0 and names the members by the addresses it got. A restart with the same
    /// listener binds its address again.
    /// </summary>
    public BoundListener? PeerListener { get; init; }

    /// <summary>
    /// The cluster's shared secret (<c>--cluster-key-file</c>): every peer connection, both ways,
    /// runs mutual TLS 1.3 with credentials derived from it, and a peer without it never gets past
    /// the handshake. Null: plain TCP, which a cluster reachable from other hosts refuses unless
    /// <see cref="InsecurePeerTransport"/> (docs/security.md, "The peer port").
    /// </summary>
    public PeerTls.ClusterKey? ClusterKey { get; init; }

    /// <summary>Run a cluster reachable from other hosts without <see cref="ClusterKey"/> (<c>--insecure-peer-transport</c>).</summary>
    public bool InsecurePeerTransport { get; init; }

    /// <summary>How long a peer connection may take over its TLS handshake before it is closed (with <see cref="ClusterKey"/>).</summary>
    internal TimeSpan PeerHandshakeTimeout { get; init; } = PeerTls.PeerHandshake.DefaultTimeout;

    /// <summary>Peer connections in their TLS handshake at once; more are closed as they arrive (with <see cref="ClusterKey"/>).</summary>
    internal int MaxPendingPeerHandshakes { get; init; } = PeerTls.PeerHandshake.DefaultMaxPending;

    /// <summary>The client API listener, bound by the launcher before the start (used instead of <see cref="ClientEndPoint"/>'s port).</summary>
    public BoundListener? ClientListener { get; init; }

    /// <summary>Null: console logging at Warning, DotNext's own chatter at Error.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Which Raft log to run (<c>--raft-log</c>); see docs/registry.md.</summary>
    public Consensus.RaftLogKind RaftLog { get; init; } = Consensus.RaftLogKinds.Default;

    /// <summary>Log entries between automatic snapshots (each snapshot compacts the log).</summary>
    public long SnapshotEvery { get; init; } = 20_000;

    /// <summary>Log entries kept behind each snapshot for followers a little behind (<c>--snapshot-keep</c>, <see cref="Consensus.SnapshotTail"/>).</summary>
    public long SnapshotKeep { get; init; } = Consensus.SnapshotTail.Default;

    /// <summary>Change events kept in memory for watches; older <c>after</c> values get 410 IndexCompacted.</summary>
    public int WatchHistory { get; init; } = 100_000;

    /// <summary>How long a write or linearizable read may wait for commit before 504 Timeout.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(600);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1200);

    /// <summary>Trust domain of the mesh CA the leader creates when the cluster has none yet (<c>--trust-domain</c>).</summary>
    public string TrustDomain { get; init; } = "mesh.local";

    /// <summary>Lifetime of the workload certificates this node signs (<c>--cert-lifetime</c>), 1 s .. 30 days.</summary>
    public TimeSpan CertificateLifetime { get; init; } = CertificateAuthority.MeshCertificateAuthority.DefaultWorkloadLifetime;

    /// <summary>
    /// Operator tokens for the client API (<c>--api-token</c>, <c>--api-tokens-file</c>). When any is
    /// given, every request except health, the public CA root and certificate signing must carry
    /// <c>Authorization: Bearer TOKEN</c> (an operator token, or a sidecar's join token).
    /// </summary>
    public IReadOnlyList<Api.Access.ApiTokenGrant> ApiTokens { get; init; } = [];

    /// <summary>Serve the client API over TLS with this certificate (with its private key); null = plain HTTP (<c>--tls-cert</c>, <c>--tls-key</c>).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? TlsCertificate { get; init; }

    /// <summary>
    /// Roots that peers' client certificates chain to, for forwarding to the leader over TLS
    /// (<c>--tls-ca</c>). Empty: the system's trusted roots.
    /// </summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection TlsTrust { get; init; } = [];

    /// <summary>Join tokens (<c>--join-token</c>, <c>--join-tokens-file</c>): hashed, then replicated under /mesh/ca/tokens.</summary>
    public IReadOnlyList<CertificateAuthority.JoinTokenGrant> JoinTokens { get; init; } = [];

    /// <summary>Body sizes, transaction size, anonymous concurrency and join-token quotas (docs/security.md, "Limits").</summary>
    public Api.Limits.RegistryLimits Limits { get; init; } = new();

    /// <summary>
    /// Secure naming (<c>--service-claims</c>): true (first-use) lets a join token's first
    /// registration of a service nobody owns claim the name for its namespace; false (admin) leaves
    /// unowned names refused until an admin claims them (<c>mesh ctl owner claim</c>).
    /// </summary>
    public bool ClaimServiceNamesOnFirstUse { get; init; } = true;

    /// <summary>
    /// Where apps registering the Apache Curator service-discovery way keep their instances
    /// (<c>--curator-base-path</c>, Curator's <c>basePath</c>): <c>BASE/NAME/ID</c> nodes holding a
    /// JSON ServiceInstance are listed as instances of NAME. Default /services, Curator's own default.
    /// </summary>
    public string CuratorBasePath { get; init; } = Api.Services.CuratorInstances.DefaultBasePath;

    /// <summary>When the leader reaps container and TTL nodes (<c>--container-check-interval</c>, <c>--container-max-never-used</c>).</summary>
    public Reaping.NodeReaperOptions Reaper { get; init; } = new();

    /// <summary>Serve the ZooKeeper client protocol too (<c>--zk host:port</c>); null = not served. See docs/zookeeper.md.</summary>
    public ZooKeeper.ZooKeeperOptions? ZooKeeper { get; init; }
}
