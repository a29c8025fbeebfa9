// Says in the log that the peer port refused someone, at most once a minute per address: a
// scanner, a node on the wrong key or a flood retries many times a second, and the log must
// neither fill up nor grow without bound. The line names the address and the reason in words
// (never a stack trace) and how many more were refused since the last line about that address.
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.PeerTls;

internal sealed partial class RefusedPeers(int nodeId, ILogger logger, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    // Addresses remembered at once; past it, those logged over a minute ago are forgotten, and
    // if all are recent the memory starts over (at worst one more line per address).
    internal const int MaxAddresses = 1024;

    private readonly Dictionary<string, (DateTimeOffset LoggedAt, int Suppressed)> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Addresses remembered now (at most <see cref="MaxAddresses"/>).</summary>
    internal int Remembered
    {
        get
        {
            lock (_gate)
                return _seen.Count;
        }
    }

    /// <summary>A connection from <paramref name="address"/> to this node's peer port was refused.</summary>
    public void Inbound(string address, string reason)
    {
        if (ShouldLog("in " + address, out var suppressed))
            Log.RefusedInbound(logger, nodeId, address, reason, suppressed);
    }

    /// <summary>This node's connection to the peer at <paramref name="address"/> was refused, or refused by it.</summary>
    public void Outbound(string address, string reason)
    {
        if (ShouldLog("out " + address, out var suppressed))
            Log.RefusedOutbound(logger, nodeId, address, reason, suppressed);
    }

    /// <summary>A connection was dropped at once because <paramref name="limit"/> handshakes were already pending (one line a minute for all addresses).</summary>
    public void TooManyPending(string address, int limit)
    {
        if (ShouldLog("pending", out var suppressed))
            Log.TooManyPending(logger, nodeId, limit, address, suppressed);
    }

    private bool ShouldLog(string key, out int suppressed)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_seen.TryGetValue(key, out var seen) && now - seen.LoggedAt < Interval)
            {
                _seen[key] = seen with { Suppressed = seen.Suppressed + 1 };
                suppressed = 0;
                return false;
            }
            suppressed = seen.Suppressed;
            if (_seen.Count >= MaxAddresses && !_seen.ContainsKey(key))
            {
                foreach (var stale in _seen.Where(e => now - e.Value.LoggedAt >= Interval).Select(e => e.Key).ToArray())
                    _seen.Remove(stale);
                if (_seen.Count >= MaxAddresses)
                    _seen.Clear();
            }
            _seen[key] = (now, 0);
            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Node {Id}: refused a connection to the peer port from {Address}: {Reason} ({Suppressed} more from it since the last such line; logged once a minute per address)")]
        public static partial void RefusedInbound(ILogger logger, int id, string address, string reason, int suppressed);

        [LoggerMessage(2, LogLevel.Warning, "Node {Id}: cannot talk to peer {Address}: {Reason} ({Suppressed} more since the last such line; logged once a minute per peer)")]
        public static partial void RefusedOutbound(ILogger logger, int id, string address, string reason, int suppressed);

        [LoggerMessage(3, LogLevel.Warning, "Node {Id}: {Limit} peer handshakes were pending, so a connection from {Address} was closed at once ({Suppressed} more since the last such line; logged once a minute)")]
        public static partial void TooManyPending(ILogger logger, int id, int limit, string address, int suppressed);
    }
}
