using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Sessions;

namespace Mesh.Registry.Core;

// Sessions. A session's id is the log index of the command that opened it: unique, and the
// same on every replica. Deadlines are command time + TTL; only ExpireSessions expires.
public sealed partial class RegistryStateMachine
{
    private ApplyResult OpenSession(long ttlMs)
    {
        var ttl = SessionLimits.ClampTtl(ttlMs);
        if (_quota is { } quota && UsageOf(quota.Owner).Sessions >= quota.MaxSessions)
        {
            return new ApplyResult { Index = _index, Error = ErrorCode.SessionQuotaExceeded };
        }

        _sessions.Add(_index, new Session(_index, ttl, _time + ttl, _quota?.Owner));
        Count(_quota?.Owner, 0, 0, 1);
        return new ApplyResult { Index = _index, SessionId = _index, TtlMs = ttl };
    }

    private ApplyResult KeepAlive(long sessionId)
    {
        if (!_sessions.TryGetValue(sessionId, out var session))
        {
            return new ApplyResult { Index = _index, Error = ErrorCode.SessionExpired, SessionId = sessionId };
        }

        session.DeadlineMs = _time + session.TtlMs;
        return new ApplyResult { Index = _index, SessionId = sessionId, TtlMs = session.TtlMs };
    }

    // Unknown ids are not an error: a session may expire between a node answering its keep-alive
    // and the batch being applied; the node reads the applied state to tell its callers.
    private ApplyResult KeepAliveMany(IReadOnlyList<long> sessionIds)
    {
        foreach (var id in sessionIds)
        {
            if (_sessions.TryGetValue(id, out var session))
            {
                session.DeadlineMs = _time + session.TtlMs;
            }
        }

        return new ApplyResult { Index = _index };
    }

    private ApplyResult CloseSession(long sessionId)
    {
        if (!_sessions.TryGetValue(sessionId, out var session))
        {
            return new ApplyResult { Index = _index, Error = ErrorCode.SessionExpired, SessionId = sessionId };
        }

        EndSession(session);
        return new ApplyResult { Index = _index, SessionId = sessionId, TtlMs = session.TtlMs, Events = TakeEvents() };
    }

    private ApplyResult ExpireSessions(long nowMs)
    {
        List<long>? expired = null;
        foreach (var session in _sessions.Values)
        {
            if (session.DeadlineMs <= nowMs)
            {
                (expired ??= []).Add(session.Id);
            }
        }

        _dedup.EvictIdle(nowMs);
        if (expired is null)
        {
            return new ApplyResult { Index = _index };
        }

        expired.Sort();
        foreach (var id in expired)
        {
            EndSession(_sessions[id]);
        }

        return new ApplyResult { Index = _index, ExpiredSessions = expired.ToArray(), Events = TakeEvents() };
    }

    private ApplyResult ResetDeadlines(long nowMs)
    {
        foreach (var session in _sessions.Values)
        {
            session.DeadlineMs = nowMs + session.TtlMs;
        }

        return new ApplyResult { Index = _index };
    }

    // Deletes the session's ephemeral nodes in path order, then the session.
    private void EndSession(Session session)
    {
        if (session.Ephemerals.Count > 0)
        {
            var paths = session.Ephemerals.ToArray();
            Array.Sort(paths, StringComparer.Ordinal);
            foreach (var path in paths)
            {
                var parentPath = NodePath.Parent(path);
                RemoveNode(path, _nodes[path], parentPath, _nodes[parentPath]);
            }
        }

        _sessions.Remove(session.Id);
        Count(session.Owner, 0, 0, -1);
    }
}
