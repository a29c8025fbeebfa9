using Mesh.Registry.Core.Sessions;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>Session timeouts this server grants (ZooKeeper's defaults with a 2 s tick: 2 and 20 ticks).</summary>
public sealed record ZkSessionLimits(int MinTimeoutMs = 4_000, int MaxTimeoutMs = 40_000)
{
    public string? Validate()
    {
        if (MinTimeoutMs < SessionLimits.MinTtlMs || MaxTimeoutMs > SessionLimits.MaxTtlMs || MinTimeoutMs > MaxTimeoutMs)
            return $"ZooKeeper session timeouts must satisfy {SessionLimits.MinTtlMs} ≤ min ({MinTimeoutMs}) ≤ max ({MaxTimeoutMs}) ≤ {SessionLimits.MaxTtlMs} ms";
        return null;
    }

    public int Negotiate(int requestedMs) => Math.Clamp(requestedMs, MinTimeoutMs, MaxTimeoutMs);
}

/// <summary>What to do with a connect request.</summary>
public abstract record ZkConnectDecision
{
    /// <summary>Close the connection without an answer (ZooKeeper does the same), logging why.</summary>
    public sealed record Refuse(string Reason) : ZkConnectDecision;

    /// <summary>Open a registry session with this TTL, then answer with its id and password.</summary>
    public sealed record OpenNew(int TimeoutMs) : ZkConnectDecision;

    /// <summary>The session lives and the password matches: answer and carry on with it here (read-only when the node is cut off).</summary>
    public sealed record Resume(long SessionId, int TimeoutMs, bool ReadOnly = false) : ZkConnectDecision;

    /// <summary>
    /// Read-only mode, a client without a session: open a session local to this node (no
    /// replicated write; an id in <see cref="ZkConnect.IsLocalReadOnlySession"/>'s range), answer
    /// with the read-only flag set. A node with a quorum answers that id Expired, as ZooKeeper's do.
    /// </summary>
    public sealed record OpenReadOnly(int TimeoutMs) : ZkConnectDecision;

    /// <summary>The session is gone (or the password is wrong): answer with timeout 0, which the client reads as SessionExpired, and close.</summary>
    public sealed record Expired(long SessionId) : ZkConnectDecision;
}

/// <summary>The handshake, pure: the request, this node's state and key in, a decision out.</summary>
public static class ZkConnect
{
    // Local read-only sessions carry this in their top bits; registry sessions are numbered by log
    // index, which never gets near it.
    private const long LocalReadOnlyTag = 0x7E00_0000_0000_0000;
    private const long LocalReadOnlyMask = 0x7F00_0000_0000_0000;

    /// <summary>Whether <paramref name="sessionId"/> is a session a node in read-only mode opened locally.</summary>
    public static bool IsLocalReadOnlySession(long sessionId) => (sessionId & LocalReadOnlyMask) == LocalReadOnlyTag;

    /// <summary>A local read-only session's id from 56 random bits.</summary>
    public static long LocalReadOnlySessionId(long random) => LocalReadOnlyTag | (random & ~LocalReadOnlyMask & long.MaxValue);

    /// <param name="serving">
    /// Whether this node is part of a cluster that has a leader (a quorum). Without one it serves only
    /// in read-only mode, and only clients that allow it; otherwise it closes the connection
    /// (ZooKeeper's default, <c>readonlymode.enabled=false</c>), and the client tries another server.
    /// </param>
    /// <param name="readOnly">
    /// Whether this node is in read-only mode now: turned on (<c>--zk-read-only</c>) and cut off from
    /// its quorum long enough to count (<c>ZooKeeperOptions.ReadOnlyAfter</c>).
    /// </param>
    public static ZkConnectDecision Decide(ConnectRequest request, long serverZxid, ZkSessionLimits limits, Func<long, SessionInfo?> session, ReadOnlySpan<byte> key, bool serving = true, bool readOnly = false)
    {
        if (request.ProtocolVersion < 0)
            return new ZkConnectDecision.Refuse($"protocol version {request.ProtocolVersion} is not one this server speaks");
        var servesReadOnly = !serving && readOnly && request.ReadOnly;
        if (!serving && !servesReadOnly)
            return new ZkConnectDecision.Refuse((request.ReadOnly, readOnly) switch
            {
                (false, true) => "this node has no quorum, and the client does not allow read-only sessions",
                (true, false) => "this node has no quorum, and read-only mode is not offered (--zk-read-only; ZooKeeper's default, readonlymode.enabled=false)",
                _ => "this node has no quorum",
            });
        // A server behind the client would show it older state than it has seen: the client must
        // try another server (ZooKeeper refuses the same way).
        if (request.LastZxidSeen > serverZxid)
            return new ZkConnectDecision.Refuse($"the client has seen zxid {request.LastZxidSeen}, this node has applied only {serverZxid}");
        if (request.SessionId == 0)
            return servesReadOnly ? new ZkConnectDecision.OpenReadOnly(limits.Negotiate(request.TimeOut)) : new ZkConnectDecision.OpenNew(limits.Negotiate(request.TimeOut));
        if (!ZkPasswords.Matches(key, request.SessionId, request.Passwd ?? []))
            return new ZkConnectDecision.Expired(request.SessionId);
        // A local read-only session lives only while its node is cut off: a node with a quorum does
        // not know it, as a ZooKeeper server does not know another's local session.
        if (IsLocalReadOnlySession(request.SessionId))
            return servesReadOnly ? new ZkConnectDecision.Resume(request.SessionId, limits.Negotiate(request.TimeOut), ReadOnly: true) : new ZkConnectDecision.Expired(request.SessionId);
        if (session(request.SessionId) is not { } live)
            return new ZkConnectDecision.Expired(request.SessionId);
        return new ZkConnectDecision.Resume(request.SessionId, (int)live.TtlMs, servesReadOnly);
    }

    /// <summary>The answer to a connect served; <paramref name="readOnly"/> tells the client its session is read-only (ZooKeeper's <c>CONNECTED_RO</c>).</summary>
    public static ConnectResponse Accepted(long sessionId, int timeoutMs, ReadOnlySpan<byte> key, bool readOnly = false) =>
        new(0, timeoutMs, sessionId, ZkPasswords.For(key, sessionId), readOnly);

    /// <summary>What an expired or unknown session is told: timeout 0, session 0.</summary>
    public static ConnectResponse Rejected { get; } = new(0, 0, 0, new byte[ZkPasswords.Length], false);
}
