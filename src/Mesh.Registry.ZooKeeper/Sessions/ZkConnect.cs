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

    /// <summary>The session lives and the password matches: answer and carry on with it here.</summary>
    public sealed record Resume(long SessionId, int TimeoutMs) : ZkConnectDecision;

    /// <summary>The session is gone (or the password is wrong): answer with timeout 0, which the client reads as SessionExpired, and close.</summary>
    public sealed record Expired(long SessionId) : ZkConnectDecision;
}

/// <summary>The handshake, pure: the request, this node's state and key in, a decision out.</summary>
public static class ZkConnect
{
    /// <param name="serving">
    /// Whether this node is part of a cluster that has a leader (a quorum). Without one it serves no
    /// client, not even one that allows read-only mode: ZooKeeper's default
    /// (<c>readonlymode.enabled=false</c>) closes the connection, and the client tries another server.
    /// </param>
    public static ZkConnectDecision Decide(ConnectRequest request, long serverZxid, ZkSessionLimits limits, Func<long, SessionInfo?> session, ReadOnlySpan<byte> key, bool serving = true)
    {
        if (request.ProtocolVersion < 0)
            return new ZkConnectDecision.Refuse($"protocol version {request.ProtocolVersion} is not one this server speaks");
        if (!serving)
            return new ZkConnectDecision.Refuse(request.ReadOnly
                ? "this node has no quorum, and read-only mode is not offered (ZooKeeper's default, readonlymode.enabled=false)"
                : "this node has no quorum");
        // A server behind the client would show it older state than it has seen: the client must
        // try another server (ZooKeeper refuses the same way).
        if (request.LastZxidSeen > serverZxid)
            return new ZkConnectDecision.Refuse($"the client has seen zxid {request.LastZxidSeen}, this node has applied only {serverZxid}");
        if (request.SessionId == 0)
            return new ZkConnectDecision.OpenNew(limits.Negotiate(request.TimeOut));
        if (session(request.SessionId) is not { } live || !ZkPasswords.Matches(key, request.SessionId, request.Passwd ?? []))
            return new ZkConnectDecision.Expired(request.SessionId);
        return new ZkConnectDecision.Resume(request.SessionId, (int)live.TtlMs);
    }

    /// <summary>The answer to a connect served: read-write always (the readOnly flag is false), whatever the client allowed.</summary>
    public static ConnectResponse Accepted(long sessionId, int timeoutMs, ReadOnlySpan<byte> key) =>
        new(0, timeoutMs, sessionId, ZkPasswords.For(key, sessionId), false);

    /// <summary>What an expired or unknown session is told: timeout 0, session 0.</summary>
    public static ConnectResponse Rejected { get; } = new(0, 0, 0, new byte[ZkPasswords.Length], false);
}
