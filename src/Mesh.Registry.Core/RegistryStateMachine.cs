using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Dedup;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

/// <summary>
/// The registry's replicated state: a ZooKeeper-like tree of nodes, sessions with their
/// ephemeral nodes, and the client deduplication table. Pure and deterministic: the same
/// commands at the same indexes give the same results, events and snapshot bytes on every
/// replica. Time is the value carried by each command; there is no clock, I/O or randomness.
/// Not thread-safe: the host applies commands and serves reads under one lock (or one thread).
/// </summary>
public sealed partial class RegistryStateMachine
{
    /// <summary>A client whose last write is older than this (by command time) loses its deduplication entry at the next ExpireSessions: one hour.</summary>
    public const long ClientIdleLimitMs = DedupTable.ClientIdleLimitMs;

    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly DedupTable _dedup = new();
    private readonly List<ChangeEvent> _events = [];

    // Index, time and quota of the command being applied.
    private long _index;
    private long _time;
    private Quotas.Quota? _quota;

    public RegistryStateMachine() => _nodes.Add(NodePath.Root, new Node(string.Empty));

    /// <summary>Index of the last applied command (0 before any).</summary>
    public long AppliedIndex { get; private set; }

    /// <summary>Number of nodes, the root included.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>
    /// Applies <paramref name="command"/> as log entry <paramref name="index"/>. Indexes must
    /// increase (gaps are fine: not every log entry is a registry command). Expected failures are
    /// <see cref="ApplyResult.Error"/> values and change nothing but <see cref="AppliedIndex"/>
    /// and the deduplication table.
    /// </summary>
    public ApplyResult Apply(long index, Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (index <= AppliedIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be greater than the applied index {AppliedIndex}");
        }

        var header = command.Header;
        var deduplicate = header.ClientId != Guid.Empty;
        if (deduplicate && _dedup.TryReplay(index, header, out var replay))
        {
            AppliedIndex = index;
            return replay!;
        }

        _index = index;
        _time = header.TimeMs;
        _quota = header.Quota;
        _caller = header.Caller;
        var result = command switch
        {
            SetData c => FromOp(WithinQuota(() => SetNodeData(c.Path, c.Data, c.ExpectedVersion))),
            CreateNode c => FromOp(WithinQuota(() => CreateNode(c.Path, c.Data, c.Mode, c.SessionId, c.CreateParents, c.Acl, c.TtlMs))),
            DeleteNode c => FromOp(DeleteNode(c.Path, c.ExpectedVersion, c.Recursive)),
            Transaction c => ApplyTransaction(c.Ops),
            OpenSession c => OpenSession(c.TtlMs),
            KeepAlive c => KeepAlive(c.SessionId),
            KeepAliveMany c => KeepAliveMany(c.SessionIds),
            CloseSession c => CloseSession(c.SessionId),
            ExpireSessions c => ExpireSessions(c.NowMs),
            ResetSessionDeadlines c => ResetDeadlines(c.NowMs),
            ReapNodes c => Reap(c.Nodes),
            _ => throw new ArgumentException($"unknown command type {command.GetType().Name}", nameof(command)),
        };

        _quota = null;
        _caller = null;
        AppliedIndex = index;
        if (deduplicate)
        {
            _dedup.Record(header, result);
        }

        return result;
    }

    /// <summary>A node's data and stat: <see cref="ErrorCode.InvalidPath"/> or <see cref="ErrorCode.NoNode"/> otherwise.</summary>
    public NodeResult GetNode(string path)
    {
        if (!NodePath.IsValid(path))
        {
            return new NodeResult(ErrorCode.InvalidPath, default, default);
        }

        return _nodes.TryGetValue(path, out var node)
            ? new NodeResult(ErrorCode.Ok, node.Data, node.Stat)
            : new NodeResult(ErrorCode.NoNode, default, default);
    }

    /// <summary>A node's child names (sorted ordinally, a copy) and stat.</summary>
    public ChildrenResult GetChildren(string path)
    {
        if (!NodePath.IsValid(path))
        {
            return new ChildrenResult(ErrorCode.InvalidPath, [], default);
        }

        return _nodes.TryGetValue(path, out var node)
            ? new ChildrenResult(ErrorCode.Ok, node.ChildNames(), node.Stat)
            : new ChildrenResult(ErrorCode.NoNode, [], default);
    }

    /// <summary>A node's stat, or <see cref="ErrorCode.NoNode"/>.</summary>
    public StatResult Exists(string path)
    {
        if (!NodePath.IsValid(path))
        {
            return new StatResult(ErrorCode.InvalidPath, default);
        }

        return _nodes.TryGetValue(path, out var node)
            ? new StatResult(ErrorCode.Ok, node.Stat)
            : new StatResult(ErrorCode.NoNode, default);
    }

    /// <summary>Live sessions in ascending id order.</summary>
    public IReadOnlyList<SessionInfo> GetSessions()
    {
        var list = new SessionInfo[_sessions.Count];
        var i = 0;
        foreach (var session in _sessions.Values)
        {
            list[i++] = session.ToInfo();
        }

        Array.Sort(list, static (a, b) => a.Id.CompareTo(b.Id));
        return list;
    }

    /// <summary>The paths of a live session's ephemeral nodes, sorted ordinally; empty for an unknown session.</summary>
    public IReadOnlyList<string> GetEphemerals(long sessionId)
    {
        if (!_sessions.TryGetValue(sessionId, out var session) || session.Ephemerals.Count == 0)
        {
            return [];
        }

        var paths = session.Ephemerals.ToArray();
        Array.Sort(paths, StringComparer.Ordinal);
        return paths;
    }

    /// <summary>One live session, or false when it does not exist.</summary>
    public bool TryGetSession(long sessionId, out SessionInfo session)
    {
        if (_sessions.TryGetValue(sessionId, out var s))
        {
            session = s.ToInfo();
            return true;
        }

        session = default;
        return false;
    }

    private IReadOnlyList<ChangeEvent> TakeEvents()
    {
        if (_events.Count == 0)
        {
            return [];
        }

        var events = _events.ToArray();
        _events.Clear();
        return events;
    }

    private ApplyResult FromOp(OpResult op) => new()
    {
        Index = _index,
        Error = op.Error,
        Path = op.Path,
        Stat = op.Stat,
        Events = TakeEvents(),
    };
}
