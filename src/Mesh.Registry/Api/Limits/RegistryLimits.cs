// What one caller may make a registry node read, hold and do (docs/security.md, "Limits"). Every
// value has a default that suits a mesh of a few thousand instances; `mesh registry` flags set them.
namespace Mesh.Registry.Api.Limits;

public sealed record RegistryLimits
{
    /// <summary>Ops in one <c>POST /v1/txn</c> (<c>--max-txn-ops</c>).</summary>
    public int MaxTxnOps { get; init; } = 1_000;

    /// <summary>Body bytes of one <c>POST /v1/txn</c> (<c>--max-txn-bytes</c>).</summary>
    public long MaxTxnBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary>
    /// Requests without a valid token served at once on the open endpoints that do work
    /// (<c>/v1/ca/sign</c>, <c>/v1/ca/root</c>); more are answered 429 (<c>--anonymous-concurrency</c>).
    /// </summary>
    public int AnonymousConcurrency { get; init; } = 8;

    /// <summary>Nodes a join token's namespace may hold (<c>--quota-nodes</c>).</summary>
    public long QuotaNodes { get; init; } = 10_000;

    /// <summary>Node data bytes a join token's namespace may hold (<c>--quota-bytes</c>).</summary>
    public long QuotaBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Live sessions a join token's namespace may hold (<c>--quota-sessions</c>).</summary>
    public long QuotaSessions { get; init; } = 1_000;

    /// <summary>Watches (paths and the trust bundle) one <c>GET /v1/watch-stream</c> may carry (<c>--max-watches-per-stream</c>).</summary>
    public int MaxWatchesPerStream { get; init; } = 512;

    /// <summary>Watch streams one caller (address and credential) may hold open on one node (<c>--max-watch-streams</c>).</summary>
    public int MaxWatchStreamsPerCaller { get; init; } = 1_024;

    /// <summary>Watches one caller may hold over all its streams on one node (<c>--max-watches-per-caller</c>).</summary>
    public int MaxWatchesPerCaller { get; init; } = 65_536;

    /// <summary>Records a watch stream's reader may fall behind before it is cut off with a resume mark (<c>--watch-stream-buffer</c>).</summary>
    public int WatchStreamBufferRecords { get; init; } = 4_096;

    /// <summary>How often a watch stream gets a progress mark (this node's applied index) when it advanced.</summary>
    public TimeSpan WatchProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Failed authentications (an unknown token, over HTTP or ZooKeeper) one remote address may make
    /// in one <see cref="AuthFailureWindow"/>; after them its attempts are refused unchecked until the
    /// window ends (<c>--auth-failures</c>; <see cref="Access.AuthFailureLimiter"/>).
    /// </summary>
    public int AuthFailuresPerAddress { get; init; } = 10;

    /// <summary>Failed authentications in one window over the whole node past which every address is allowed one failure per window.</summary>
    public int AuthFailuresPerNode { get; init; } = 200;

    /// <summary>How long a remote address's failed authentications are remembered, from its first one.</summary>
    public TimeSpan AuthFailureWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Remote addresses whose failed authentications are remembered at once; past that the oldest is forgotten.</summary>
    public int AuthFailureAddresses { get; init; } = 10_000;

    /// <summary>Names the first out-of-range value, or null.</summary>
    public string? Validate() =>
        MaxTxnOps < 1 ? $"--max-txn-ops {MaxTxnOps} must be at least 1"
        : MaxTxnBytes < BodyLimits.SmallBodyBytes ? $"--max-txn-bytes {MaxTxnBytes} must be at least {BodyLimits.SmallBodyBytes}"
        : MaxTxnBytes > BodyLimits.MaxConfigurableBytes ? $"--max-txn-bytes {MaxTxnBytes} must be at most {BodyLimits.MaxConfigurableBytes}"
        : AnonymousConcurrency < 1 ? $"--anonymous-concurrency {AnonymousConcurrency} must be at least 1"
        : QuotaNodes < 1 ? $"--quota-nodes {QuotaNodes} must be at least 1"
        : QuotaBytes < 0 ? $"--quota-bytes {QuotaBytes} must not be negative"
        : QuotaSessions < 1 ? $"--quota-sessions {QuotaSessions} must be at least 1"
        : MaxWatchesPerStream < 1 ? $"--max-watches-per-stream {MaxWatchesPerStream} must be at least 1"
        : MaxWatchStreamsPerCaller < 1 ? $"--max-watch-streams {MaxWatchStreamsPerCaller} must be at least 1"
        : MaxWatchesPerCaller < 1 ? $"--max-watches-per-caller {MaxWatchesPerCaller} must be at least 1"
        : WatchStreamBufferRecords < 1 ? $"--watch-stream-buffer {WatchStreamBufferRecords} must be at least 1"
        : AuthFailuresPerAddress < 1 ? $"--auth-failures {AuthFailuresPerAddress} must be at least 1"
        : AuthFailuresPerNode < 1 || AuthFailureAddresses < 1 || AuthFailureWindow <= TimeSpan.Zero ? "the failed-authentication limits must be positive"
        : WatchProgressInterval <= TimeSpan.Zero ? $"the watch progress interval {WatchProgressInterval} must be positive"
        : null;
}
