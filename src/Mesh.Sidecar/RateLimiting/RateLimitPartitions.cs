// The limiters of one partitioned rate limit, one per key, bounded in memory. The framework's
// PartitionedRateLimiter removes idle limiters only after 10 s of real time, from its own timer,
// so a flood of distinct keys (random header values) can grow it without bound meanwhile; here
// the count is capped at maxPartitions: above it the least recently used partitions are evicted
// (down to 90 %), and idle ones are swept on the strategy's housekeeping tick. Lookups take a
// span (a formatted client IP needs no string) and allocate only when a key is new.
using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class RateLimitPartitions : IDisposable
{
    private readonly ConcurrentDictionary<string, Partition> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Partition>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Func<RateLimiter> _factory;
    private readonly int _maxPartitions;
    private readonly Lock _evictLock = new();
    private int _count;

    public RateLimitPartitions(Func<RateLimiter> factory, int maxPartitions)
    {
        _factory = factory;
        _maxPartitions = maxPartitions;
        _lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => Volatile.Read(ref _count);

    public long Evicted { get; private set; }

    public RateLimiter Get(ReadOnlySpan<char> key, long now)
    {
        if (_lookup.TryGetValue(key, out var partition))
        {
            partition.LastUsed = now;
            return partition.Limiter;
        }
        return Add(key.ToString(), now);
    }

    public bool Contains(string key) => _map.ContainsKey(key);

    private RateLimiter Add(string key, long now)
    {
        var created = new Partition(_factory()) { LastUsed = now };
        var partition = _map.GetOrAdd(key, created);
        if (!ReferenceEquals(partition, created))
        {
            created.Limiter.Dispose();
            partition.LastUsed = now;
            return partition.Limiter;
        }
        if (Interlocked.Increment(ref _count) > _maxPartitions)
            EvictLeastRecentlyUsed(key);
        return partition.Limiter;
    }

    /// <summary>Calls TryReplenish on every limiter (window kinds, driven by the strategy's clock).</summary>
    public void Replenish()
    {
        foreach (var (_, partition) in _map)
            (partition.Limiter as ReplenishingRateLimiter)?.TryReplenish();
    }

    /// <summary>Removes partitions unused for <paramref name="idleTicks"/> whose limiter holds no state (full, nothing out).</summary>
    public void SweepIdle(long now, long idleTicks)
    {
        foreach (var (key, partition) in _map)
        {
            if (now - partition.LastUsed >= idleTicks && partition.Limiter.IdleDuration is not null)
                Remove(key, partition);
        }
    }

    private void EvictLeastRecentlyUsed(string justAdded)
    {
        lock (_evictLock)
        {
            var excess = Volatile.Read(ref _count) - _maxPartitions;
            if (excess <= 0)
                return;
            // Evict down to 90 % so the sort is paid once per ~10 % of new keys, not on every one.
            var target = excess + _maxPartitions / 10;
            var entries = _map.ToArray();
            Array.Sort(entries, static (a, b) => a.Value.LastUsed.CompareTo(b.Value.LastUsed));
            foreach (var (key, partition) in entries)
            {
                if (target <= 0)
                    break;
                if (key == justAdded)
                    continue;
                if (Remove(key, partition))
                {
                    Evicted++;
                    target--;
                }
            }
        }
    }

    private bool Remove(string key, Partition partition)
    {
        if (!_map.TryRemove(new KeyValuePair<string, Partition>(key, partition)))
            return false;
        Interlocked.Decrement(ref _count);
        // Manual-mode limiters own no timer, so an orphan is left to the GC: a request that looked
        // it up a moment ago still gets a valid lease. Only waiters queued on it need releasing
        // (as rejected); the strategy retries a lookup that meets such a disposed limiter.
        if (partition.Limiter.GetStatistics() is { CurrentQueuedCount: > 0 })
            partition.Limiter.Dispose();
        return true;
    }

    public void Dispose()
    {
        foreach (var (key, partition) in _map)
        {
            if (_map.TryRemove(new KeyValuePair<string, Partition>(key, partition)))
                partition.Limiter.Dispose();
        }
        _count = 0;
    }

    private sealed class Partition(RateLimiter limiter)
    {
        public RateLimiter Limiter { get; } = limiter;

        public long LastUsed;
    }
}
