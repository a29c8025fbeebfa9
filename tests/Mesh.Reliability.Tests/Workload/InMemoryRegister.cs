using Mesh.Reliability.Tests.Recording;

namespace Mesh.Reliability.Tests.Workload;

/// <summary>
/// A correct, linearizable register store in memory — a test double for checking the checker,
/// not a stand-in for the registry. Each call waits a little before and after its atomic step, so
/// concurrent calls really overlap; with <c>timeoutRate</c> &gt; 0 some calls throw
/// <see cref="TimeoutException"/>, half of them after taking effect and half before.
/// Its semantics are written out here, independently of the checker's model.
/// </summary>
internal sealed class InMemoryRegister(double timeoutRate = 0) : IRegisterClient
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string Value, long Version)> _nodes = new(StringComparer.Ordinal);

    /// <summary>Number of writes applied so far (any kind that changed a node).</summary>
    public long AppliedChanges { get; private set; }

    /// <summary>A copy of every node's value and version.</summary>
    public Dictionary<string, (string Value, long Version)> Snapshot()
    {
        lock (_lock)
            return new Dictionary<string, (string, long)>(_nodes, StringComparer.Ordinal);
    }

    public Task<RegisterResult> ReadAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(() => _nodes.TryGetValue(key, out var node) ? RegisterResult.Saw(node.Value, node.Version) : RegisterResult.Absent, cancellationToken);

    public Task<RegisterResult> WriteAsync(string key, string value, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            if (!_nodes.TryGetValue(key, out var node))
                return RegisterResult.Absent;
            return Set(key, value, node.Version + 1);
        }, cancellationToken);

    public Task<RegisterResult> CompareAndSetAsync(string key, long expectedVersion, string value, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            if (!_nodes.TryGetValue(key, out var node))
                return RegisterResult.Absent;
            return node.Version == expectedVersion ? Set(key, value, node.Version + 1) : RegisterResult.Failed;
        }, cancellationToken);

    public Task<RegisterResult> CreateAsync(string key, string value, CancellationToken cancellationToken) =>
        RunAsync(() => _nodes.ContainsKey(key) ? RegisterResult.Exists : Set(key, value, 0), cancellationToken);

    public Task<RegisterResult> DeleteAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            if (!_nodes.Remove(key))
                return RegisterResult.Absent;
            AppliedChanges++;
            return RegisterResult.Ok();
        }, cancellationToken);

    private RegisterResult Set(string key, string value, long version)
    {
        _nodes[key] = (value, version);
        AppliedChanges++;
        return RegisterResult.Ok(version);
    }

    private async Task<RegisterResult> RunAsync(Func<RegisterResult> step, CancellationToken cancellationToken)
    {
        var timesOut = Random.Shared.NextDouble() < timeoutRate;
        var appliesBeforeTimeout = Random.Shared.Next(2) == 0;
        await JitterAsync(cancellationToken);
        if (timesOut && !appliesBeforeTimeout)
            throw new TimeoutException("request lost before it arrived");
        RegisterResult result;
        lock (_lock)
            result = step();
        await JitterAsync(cancellationToken);
        if (timesOut)
            throw new TimeoutException("answer lost after the change was applied");
        return result;
    }

    /// <summary>Up to ~2 ms of delay (or just a yield), so calls from several workers interleave.</summary>
    internal static Task JitterAsync(CancellationToken cancellationToken) =>
        Random.Shared.Next(4) switch
        {
            0 => Task.Run(() => { }, cancellationToken),
            1 => Task.Delay(1, cancellationToken),
            2 => Task.Delay(2, cancellationToken),
            _ => Task.CompletedTask,
        };
}

/// <summary>
/// A deliberately broken store: writes go to a correct <see cref="InMemoryRegister"/> (the
/// "leader") but reads are served from a follower copy refreshed only every few writes — the bug
/// a <c>?stale=true</c> read or a missing read barrier would have. The checker must catch it.
/// </summary>
internal sealed class StaleReadRegister(int refreshEveryChanges = 4) : IRegisterClient
{
    private readonly InMemoryRegister _leader = new();
    private readonly Lock _lock = new();
    private Dictionary<string, (string Value, long Version)> _follower = new(StringComparer.Ordinal);
    private long _followerAt;

    public async Task<RegisterResult> ReadAsync(string key, CancellationToken cancellationToken)
    {
        await InMemoryRegister.JitterAsync(cancellationToken);
        lock (_lock)
            return _follower.TryGetValue(key, out var node) ? RegisterResult.Saw(node.Value, node.Version) : RegisterResult.Absent;
    }

    public Task<RegisterResult> WriteAsync(string key, string value, CancellationToken cancellationToken) =>
        ThenReplicate(_leader.WriteAsync(key, value, cancellationToken));

    public Task<RegisterResult> CompareAndSetAsync(string key, long expectedVersion, string value, CancellationToken cancellationToken) =>
        ThenReplicate(_leader.CompareAndSetAsync(key, expectedVersion, value, cancellationToken));

    public Task<RegisterResult> CreateAsync(string key, string value, CancellationToken cancellationToken) =>
        ThenReplicate(_leader.CreateAsync(key, value, cancellationToken));

    public Task<RegisterResult> DeleteAsync(string key, CancellationToken cancellationToken) =>
        ThenReplicate(_leader.DeleteAsync(key, cancellationToken));

    private async Task<RegisterResult> ThenReplicate(Task<RegisterResult> write)
    {
        var result = await write;
        lock (_lock)
        {
            if (_leader.AppliedChanges - _followerAt >= refreshEveryChanges)
            {
                _follower = _leader.Snapshot();
                _followerAt = _leader.AppliedChanges;
            }
        }
        return result;
    }
}
