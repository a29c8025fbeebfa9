namespace Mesh.Registry.Reaping;

/// <summary>
/// When the leader reaps container and TTL nodes (docs/zookeeper.md, "Containers and TTL nodes"):
/// ZooKeeper's <c>znode.container.checkIntervalMs</c> and <c>znode.container.maxNeverUsedIntervalMs</c>.
/// </summary>
public sealed record NodeReaperOptions
{
    /// <summary>
    /// How often the leader looks for nodes to reap (<c>--container-check-interval</c>): 1 s, where
    /// ZooKeeper's default is 60 s, so an empty container or an expired TTL node goes within about a
    /// second (and tests need not wait a minute).
    /// </summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A container that never had a child is reaped once its last data change is older than this
    /// (<c>--container-max-never-used</c>); zero, the default (as ZooKeeper's): never.
    /// </summary>
    public TimeSpan MaxNeverUsed { get; init; } = TimeSpan.Zero;

    public string? Validate() =>
        CheckInterval < TimeSpan.FromMilliseconds(10) || CheckInterval > TimeSpan.FromHours(1)
            ? $"--container-check-interval ({CheckInterval.TotalMilliseconds} ms) must be within 10 ms .. 1 h"
            : MaxNeverUsed < TimeSpan.Zero
                ? $"--container-max-never-used ({MaxNeverUsed.TotalMilliseconds} ms) must not be negative"
                : null;
}
