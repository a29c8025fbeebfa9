using System.Collections.Concurrent;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The proofs of forwarded writes the leader accepted within <see cref="ForwardProof.MaxSkew"/>:
/// each is good once. The client API is plain HTTP unless the nodes have certificates, and the
/// leader stamps a forwarded command with its own header, so without this a request seen on the
/// wire could be sent again within its window and applied again (a second sequential node, an old
/// value written back, a dead session kept alive). Only proofs made with the cluster's key get in,
/// so it holds at most the cluster's own forwards of one minute. Two followers forwarding the same
/// command in the same millisecond make the same proof: the second is refused like a replay, and
/// its client sees ConnectionLoss (nothing was applied) and retries.
/// </summary>
internal sealed class ForwardReplays
{
    private static readonly long WindowMs = (long)ForwardProof.MaxSkew.TotalMilliseconds;

    private readonly ConcurrentDictionary<string, long> _used = new(StringComparer.Ordinal);
    private long _nextSweepMs;

    /// <summary>True the first time <paramref name="proof"/> is shown; false for a replay.</summary>
    public bool TryUse(ForwardProof proof, long nowMs)
    {
        Sweep(nowMs);
        return _used.TryAdd(Convert.ToBase64String(proof.Mac), proof.TimeMs);
    }

    public int Count => _used.Count;

    // A proof stamped before now - MaxSkew is refused for its age, so it need not be remembered.
    private void Sweep(long nowMs)
    {
        var next = Interlocked.Read(ref _nextSweepMs);
        if (nowMs < next || Interlocked.CompareExchange(ref _nextSweepMs, nowMs + 1000, next) != next)
            return;
        foreach (var (mac, timeMs) in _used)
        {
            if (timeMs < nowMs - WindowMs)
                _used.TryRemove(mac, out _);
        }
    }
}
