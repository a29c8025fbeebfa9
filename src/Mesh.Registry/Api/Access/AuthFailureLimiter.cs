using System.Net;
using Mesh.Registry.Api.Limits;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// Failed authentications per remote address, so a token cannot be guessed as fast as the network
/// allows: after <see cref="RegistryLimits.AuthFailuresPerAddress"/> failures in one
/// <see cref="RegistryLimits.AuthFailureWindow"/> (counted from an address's first failure), every
/// further attempt from that address is refused without the secret being checked, until its
/// window ends. Over the whole node, once <see cref="RegistryLimits.AuthFailuresPerNode"/> failures
/// fall in one window (guessing spread over many addresses), an address is allowed a single
/// failure per window. Only failures count: a correct token is never slowed, nor does it wipe its
/// address's failures (a guesser holding one valid token could otherwise reset its count between
/// guesses). IPv6 addresses count by their /64, the block one host is usually given. At most
/// <see cref="RegistryLimits.AuthFailureAddresses"/> addresses are tracked: past that the one whose
/// window started first is forgotten. One instance per node, shared by the HTTP API and the
/// ZooKeeper port. Hand-written rather than System.Threading.RateLimiting's partitioned limiter:
/// that one neither takes a <see cref="TimeProvider"/> nor bounds its partitions.
/// </summary>
internal sealed class AuthFailureLimiter(RegistryLimits limits, TimeProvider time)
{
    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, (long Start, int Count)> _addresses = [];

    // Windows in the order they started; an item whose entry has since restarted or gone is skipped.
    private readonly Queue<(IPAddress Key, long Start)> _started = new();
    private long _nodeStart;
    private int _nodeCount;

    // _addresses.Count, readable without the lock: with no failure remembered (the usual case),
    // an attempt is let through without taking it, so every API request does not queue on one lock.
    private int _tracked;

    /// <summary>Addresses whose failures are remembered now.</summary>
    public int Tracked => Volatile.Read(ref _tracked);

    /// <summary>Why an attempt from <paramref name="remote"/> is refused before its secret is checked, or null when it may be checked.</summary>
    public AuthRefusal? Check(IPAddress? remote)
    {
        if (Volatile.Read(ref _tracked) == 0)
            return null;
        var key = KeyOf(remote);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            Forget(now);
            if (!_addresses.TryGetValue(key, out var window))
                return null;
            var nodeBusy = _nodeCount >= limits.AuthFailuresPerNode && !Ended(_nodeStart, now);
            var allowed = nodeBusy ? 1 : limits.AuthFailuresPerAddress;
            if (window.Count < allowed)
                return null;
            var retryAfter = limits.AuthFailureWindow - time.GetElapsedTime(window.Start, now);
            var why = nodeBusy
                ? $"this node saw {_nodeCount} failed authentications in {Seconds(limits.AuthFailureWindow)} s, and {key} failed already"
                : $"{key} failed to authenticate {window.Count} times in {Seconds(limits.AuthFailureWindow)} s";
            return new AuthRefusal(retryAfter, $"too many failed authentications: {why}; try again in {Seconds(retryAfter)} s");
        }
    }

    /// <summary>Counts one failed authentication from <paramref name="remote"/>.</summary>
    public void Failed(IPAddress? remote)
    {
        var key = KeyOf(remote);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (Ended(_nodeStart, now) || _nodeCount == 0)
                (_nodeStart, _nodeCount) = (now, 0);
            _nodeCount++;
            Forget(now);
            if (_addresses.TryGetValue(key, out var window) && !Ended(window.Start, now))
            {
                _addresses[key] = (window.Start, window.Count + 1);
                return;
            }
            if (!_addresses.ContainsKey(key))
            {
                while (_addresses.Count >= limits.AuthFailureAddresses && _started.TryDequeue(out var oldest))
                {
                    if (_addresses.TryGetValue(oldest.Key, out var held) && held.Start == oldest.Start)
                        _addresses.Remove(oldest.Key);
                }
            }
            _addresses[key] = (now, 1);
            _started.Enqueue((key, now));
            Volatile.Write(ref _tracked, _addresses.Count);
        }
    }

    /// <summary>Drops the windows that have ended, oldest first (the queue is in start order).</summary>
    private void Forget(long now)
    {
        while (_started.TryPeek(out var first) && Ended(first.Start, now))
        {
            _started.Dequeue();
            if (_addresses.TryGetValue(first.Key, out var held) && held.Start == first.Start)
                _addresses.Remove(first.Key);
        }
        Volatile.Write(ref _tracked, _addresses.Count);
    }

    private bool Ended(long start, long now) => time.GetElapsedTime(start, now) >= limits.AuthFailureWindow;

    private static string Seconds(TimeSpan span) => Math.Ceiling(Math.Max(span.TotalSeconds, 0)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One client, one key: an IPv4-mapped address as IPv4, an IPv6 address as its /64.</summary>
    internal static IPAddress KeyOf(IPAddress? remote)
    {
        if (remote is null)
            return IPAddress.None;
        if (remote.IsIPv4MappedToIPv6)
            return remote.MapToIPv4();
        if (remote.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(remote))
            return remote;
        var bytes = remote.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}

/// <summary>An authentication refused before its secret was checked: when to try again, and why, for the client.</summary>
internal sealed record AuthRefusal(TimeSpan RetryAfter, string Reason)
{
    /// <summary>Whole seconds for a <c>Retry-After</c> header, at least 1.</summary>
    public int RetryAfterSeconds => (int)Math.Max(1, Math.Ceiling(RetryAfter.TotalSeconds));
}
