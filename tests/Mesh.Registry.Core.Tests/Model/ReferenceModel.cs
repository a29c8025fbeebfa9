using System.Globalization;
using System.Text;

namespace Mesh.Registry.Core.Tests.Model;

/// <summary>
/// A deliberately naive registry written from the spec, independently of the real one: nodes in
/// one dictionary, children found by scanning every key, transactions by copying the whole state
/// and putting it back on failure. Results are rendered as text so a mismatch shows as a diff.
/// </summary>
internal sealed class ReferenceModel
{
    private const int MaxData = 1 << 20;
    private const long IdleLimit = 3_600_000;

    private Dictionary<string, MNode> _nodes = new(StringComparer.Ordinal) { ["/"] = new MNode([], 0, 0, 0, 0, 0, 0, 0) };
    private Dictionary<long, (long Ttl, long Deadline)> _sessions = [];
    private readonly Dictionary<Guid, (long Seq, long LastSeen, MResult Result)> _clients = [];
    private List<string> _events = [];
    private long _index;
    private long _time;

    public IEnumerable<KeyValuePair<string, MNode>> Nodes => _nodes.OrderBy(kv => kv.Key, StringComparer.Ordinal);

    public IEnumerable<string> Sessions =>
        _sessions.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} ttl={kv.Value.Ttl} deadline={kv.Value.Deadline}");

    public static bool ValidPath(string path)
    {
        if (path is null || path.Length == 0 || path.Length > 4096 || path[0] != '/')
        {
            return false;
        }

        if (path == "/")
        {
            return true;
        }

        try
        {
            new UTF8Encoding(false, true).GetByteCount(path);
        }
        catch (EncoderFallbackException)
        {
            return false;
        }

        return path[1..].Split('/').All(s => s.Length > 0 && s != "." && s != ".." && !s.Any(char.IsControl));
    }

    public MResult Apply(long index, Guid client, long seq, long time, Func<MResult> apply)
    {
        if (client != Guid.Empty && _clients.TryGetValue(client, out var known))
        {
            if (seq == known.Seq)
            {
                return known.Result with { Events = [], Replay = true };
            }

            if (seq < known.Seq)
            {
                return new MResult { Index = index, Error = "StaleRequest" };
            }
        }

        _index = index;
        _time = time;
        _events = [];
        var result = apply() with { Index = index, Events = _events };
        if (client != Guid.Empty)
        {
            _clients[client] = (seq, time, result);
        }

        return result;
    }

    public MResult Create(string path, byte[] data, int mode, long session, bool parents)
    {
        var ephemeral = mode is 1 or 3;
        var sequential = mode is 2 or 3;
        // A sequential path may end in '/': the suffix is then the whole name.
        var named = sequential && path is { Length: > 2 } && path[^1] == '/' ? path[..^1] : path;
        if (!ValidPath(named) || (sequential && path.Length + 10 > 4096))
        {
            return Error("InvalidPath", path);
        }

        if (data.Length > MaxData)
        {
            return Error("DataTooLarge", path);
        }

        if (ephemeral && !_sessions.ContainsKey(session))
        {
            return Error("SessionExpired", path);
        }

        if (path == "/")
        {
            return Error("NodeExists", path);
        }

        var parent = named == path ? ParentOf(path) : named;
        if (_nodes.TryGetValue(parent, out var p))
        {
            if (p.Owner != 0)
            {
                return Error("NoChildrenForEphemerals", path);
            }
        }
        else
        {
            if (!parents)
            {
                return Error("NoNode", path);
            }

            var missing = new List<string>();
            var a = parent;
            while (!_nodes.ContainsKey(a))
            {
                missing.Insert(0, a);
                a = ParentOf(a);
            }

            if (_nodes[a].Owner != 0)
            {
                return Error("NoChildrenForEphemerals", path);
            }

            foreach (var m in missing)
            {
                Add(m, [], 0);
            }
        }

        // ZooKeeper numbers by child creations; cversion counts deletions too.
        var final = sequential ? path + ((_nodes[parent].CVersion + ChildrenOf(parent).Count) / 2).ToString("0000000000", CultureInfo.InvariantCulture) : path;
        if (_nodes.ContainsKey(final))
        {
            return Error("NodeExists", final);
        }

        Add(final, data, ephemeral ? session : 0);
        return new MResult { Path = final, Stat = StatOf(final) };
    }

    public MResult Set(string path, byte[] data, long version)
    {
        if (!ValidPath(path))
        {
            return Error("InvalidPath", path);
        }

        if (data.Length > MaxData)
        {
            return Error("DataTooLarge", path);
        }

        if (!_nodes.TryGetValue(path, out var n))
        {
            return Error("NoNode", path);
        }

        if (version != -1 && version != n.Version)
        {
            return Error("BadVersion", path);
        }

        _nodes[path] = n with { Data = data, Version = n.Version + 1, MIndex = _index, MTime = _time };
        _events.Add($"DataChanged {path}");
        return new MResult { Path = path, Stat = StatOf(path) };
    }

    public MResult Delete(string path, long version, bool recursive)
    {
        if (!ValidPath(path) || path == "/")
        {
            return Error("InvalidPath", path);
        }

        if (!_nodes.TryGetValue(path, out var n))
        {
            return Error("NoNode", path);
        }

        if (version != -1 && version != n.Version)
        {
            return Error("BadVersion", path);
        }

        if (!recursive && ChildrenOf(path).Count > 0)
        {
            return Error("NotEmpty", path);
        }

        DeleteTree(path);
        return new MResult { Path = path };
    }

    public MResult Check(string path, long version)
    {
        if (!ValidPath(path))
        {
            return Error("InvalidPath", path);
        }

        if (!_nodes.TryGetValue(path, out var n))
        {
            return Error("NoNode", path);
        }

        return version != -1 && version != n.Version ? Error("BadVersion", path) : new MResult { Path = path, Stat = StatOf(path) };
    }

    public MResult Transaction(IReadOnlyList<(string Path, Func<MResult> Op)> ops)
    {
        var nodes = new Dictionary<string, MNode>(_nodes, StringComparer.Ordinal);
        var sessions = new Dictionary<long, (long, long)>(_sessions);
        var events = _events.Count;
        var results = new List<string>();
        for (var i = 0; i < ops.Count; i++)
        {
            var r = ops[i].Op();
            results.Add($"{r.Error} {r.Path} {r.Stat}");
            if (r.Error != "Ok")
            {
                _nodes = nodes;
                _sessions = sessions;
                _events.RemoveRange(events, _events.Count - events);
                var rolled = ops.Select((o, j) => j == i ? results[i] : $"RolledBack {o.Path} {default(Core.Results.NodeStat)}").ToList();
                return new MResult { Error = r.Error, Ops = rolled, FailedOp = i };
            }
        }

        return new MResult { Ops = results };
    }

    public MResult OpenSession(long ttl)
    {
        ttl = Math.Min(Math.Max(ttl, 1000), 600_000);
        _sessions[_index] = (ttl, _time + ttl);
        return new MResult { SessionId = _index, Ttl = ttl };
    }

    public MResult KeepAlive(long id)
    {
        if (!_sessions.TryGetValue(id, out var s))
        {
            return new MResult { Error = "SessionExpired", SessionId = id };
        }

        _sessions[id] = (s.Ttl, _time + s.Ttl);
        return new MResult { SessionId = id, Ttl = s.Ttl };
    }

    public MResult KeepAliveMany(IEnumerable<long> ids)
    {
        foreach (var id in ids)
        {
            if (_sessions.TryGetValue(id, out var s))
            {
                _sessions[id] = (s.Ttl, _time + s.Ttl);
            }
        }

        return new MResult();
    }

    public MResult CloseSession(long id)
    {
        if (!_sessions.TryGetValue(id, out var s))
        {
            return new MResult { Error = "SessionExpired", SessionId = id };
        }

        Kill(id);
        return new MResult { SessionId = id, Ttl = s.Ttl };
    }

    public MResult Expire(long now)
    {
        var expired = _sessions.Where(kv => kv.Value.Deadline <= now).Select(kv => kv.Key).Order().ToList();
        foreach (var id in expired)
        {
            Kill(id);
        }

        foreach (var client in _clients.Where(kv => now - kv.Value.LastSeen > IdleLimit).Select(kv => kv.Key).ToList())
        {
            _clients.Remove(client);
        }

        return new MResult { Expired = expired };
    }

    public MResult Reset(long now)
    {
        foreach (var id in _sessions.Keys.ToList())
        {
            _sessions[id] = (_sessions[id].Ttl, now + _sessions[id].Ttl);
        }

        return new MResult();
    }

    public List<string> ChildrenOf(string path) =>
        _nodes.Keys.Where(k => k != "/" && ParentOf(k) == path).Select(k => k[(k.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal).ToList();

    public Core.Results.NodeStat StatOf(string path)
    {
        var n = _nodes[path];
        return new(n.Version, n.CVersion, n.CIndex, n.MIndex, n.CTime, n.MTime, n.Owner, n.Data.Length, ChildrenOf(path).Count, n.PIndex);
    }

    private void Kill(long id)
    {
        foreach (var path in _nodes.Where(kv => kv.Value.Owner == id).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList())
        {
            Remove(path);
        }

        _sessions.Remove(id);
    }

    private void DeleteTree(string path)
    {
        foreach (var child in ChildrenOf(path))
        {
            DeleteTree(path == "/" ? "/" + child : path + "/" + child);
        }

        Remove(path);
    }

    private void Add(string path, byte[] data, long owner)
    {
        _nodes[path] = new MNode(data, 0, 0, _index, _index, _time, _time, owner, _index);
        var parent = ParentOf(path);
        _nodes[parent] = _nodes[parent] with { CVersion = _nodes[parent].CVersion + 1, PIndex = _index };
        _events.Add($"Created {path}");
        _events.Add($"ChildrenChanged {parent}");
    }

    private void Remove(string path)
    {
        _nodes.Remove(path);
        var parent = ParentOf(path);
        _nodes[parent] = _nodes[parent] with { CVersion = _nodes[parent].CVersion + 1, PIndex = _index };
        _events.Add($"Deleted {path}");
        _events.Add($"ChildrenChanged {parent}");
    }

    private static string ParentOf(string path)
    {
        var i = path.LastIndexOf('/');
        return i == 0 ? "/" : path[..i];
    }

    private static MResult Error(string code, string path) => new() { Error = code, Path = path };
}

internal sealed record MNode(byte[] Data, long Version, long CVersion, long CIndex, long MIndex, long CTime, long MTime, long Owner, long PIndex = 0);

internal sealed record MResult
{
    public long Index { get; init; }

    public string Error { get; init; } = "Ok";

    public string? Path { get; init; }

    public Core.Results.NodeStat Stat { get; init; }

    public long SessionId { get; init; }

    public long Ttl { get; init; }

    public IReadOnlyList<string> Ops { get; init; } = [];

    public int FailedOp { get; init; } = -1;

    public IReadOnlyList<long> Expired { get; init; } = [];

    public IReadOnlyList<string> Events { get; init; } = [];

    public bool Replay { get; init; }

    public string Render() =>
        $"index={Index} error={Error} path={Path} stat={Stat} session={SessionId} ttl={Ttl} failedOp={FailedOp} replay={Replay}\n"
        + $"ops=[{string.Join("; ", Ops)}]\nexpired=[{string.Join(",", Expired)}]\nevents=[{string.Join("; ", Events)}]";
}
