using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Dedup;

/// <summary>
/// Makes client retries idempotent: per client id, the last applied sequence number and its
/// result. A command with that same sequence number is answered with the stored result and not
/// applied again; a lower one is <see cref="ErrorCode.StaleRequest"/>; a higher one is applied.
/// The table is bounded by time, deterministically: <see cref="ExpireSessions"/> at time T
/// forgets clients whose last write is older than T - <see cref="ClientIdleLimitMs"/>.
/// </summary>
internal sealed class DedupTable
{
    /// <summary>A client silent for this long (by command time) loses its entry: one hour.</summary>
    public const long ClientIdleLimitMs = 3_600_000;

    private readonly Dictionary<Guid, Entry> _clients = [];

    public int Count => _clients.Count;

    public bool TryReplay(long index, CommandHeader header, out ApplyResult? result)
    {
        if (!_clients.TryGetValue(header.ClientId, out var entry) || header.Sequence > entry.Sequence)
        {
            result = null;
            return false;
        }

        result = header.Sequence == entry.Sequence
            ? entry.Result with { Events = [], IsReplay = true }
            : new ApplyResult { Index = index, Error = ErrorCode.StaleRequest };
        return true;
    }

    public void Record(CommandHeader header, ApplyResult result)
    {
        if (_clients.TryGetValue(header.ClientId, out var entry))
        {
            entry.Sequence = header.Sequence;
            entry.LastSeenMs = header.TimeMs;
            entry.Result = result;
        }
        else
        {
            _clients.Add(header.ClientId, new Entry(header.Sequence, header.TimeMs, result));
        }
    }

    public void EvictIdle(long nowMs)
    {
        foreach (var (client, entry) in _clients)
        {
            if (nowMs - entry.LastSeenMs > ClientIdleLimitMs)
            {
                _clients.Remove(client);
            }
        }
    }

    /// <summary>Entries in client id order, for deterministic snapshots.</summary>
    public List<KeyValuePair<Guid, Entry>> Sorted()
    {
        var list = new List<KeyValuePair<Guid, Entry>>(_clients);
        list.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return list;
    }

    public void Add(Guid client, Entry entry) => _clients.Add(client, entry);

    internal sealed class Entry(long sequence, long lastSeenMs, ApplyResult result)
    {
        public long Sequence { get; set; } = sequence;

        public long LastSeenMs { get; set; } = lastSeenMs;

        public ApplyResult Result { get; set; } = result;
    }
}
