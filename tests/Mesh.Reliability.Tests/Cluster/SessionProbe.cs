using System.Collections.Concurrent;
using System.Diagnostics;
using Mesh.Registry.Client;
using Mesh.Reliability.Tests.Checks;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// Sessions through the faults. One <em>live</em> session (TTL <see cref="LiveTtl"/>) is kept
/// alive every second and owns an ephemeral node: no keep-alive may ever answer SessionExpired
/// and no linearizable read may find its node gone (a failover must not expire a live session).
/// Every few seconds an <em>abandoned</em> session (TTL <see cref="AbandonedTtl"/>) creates an
/// ephemeral node and is then left to expire: readers record every sighting of those nodes (with
/// the read's index) and the first read that found each gone, for <see cref="EphemeralCheck"/>;
/// at the end every abandoned node must be gone.
/// </summary>
/// <remarks>
/// Each loop should get its own <see cref="RegistryClient"/>: writes from one client are ordered
/// by its Mesh-Request-Seq, and concurrent writes through one client can be refused as stale.
/// </remarks>
internal sealed class SessionProbe(RegistryClient client, RegistryClient liveClient, string root, Action<string> log)
{
    public static readonly TimeSpan LiveTtl = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan AbandonedTtl = TimeSpan.FromSeconds(2);

    private readonly ConcurrentQueue<Violation> _violations = new();
    private readonly ConcurrentQueue<EphemeralSighting> _sightings = new();
    private readonly ConcurrentDictionary<long, SessionEnd> _ends = new();
    private readonly ConcurrentDictionary<string, Abandoned> _abandoned = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <param name="Acked">The create was acknowledged (else its outcome is unknown: the node may never have existed).</param>
    private sealed record Abandoned(string Path, long Session, long AbandonedAt, bool Acked)
    {
        public long? GoneAt { get; set; }
    }

    public int KeepAlives { get; private set; }

    public int KeepAliveErrors { get; private set; }

    public int LiveReads { get; private set; }

    public IReadOnlyList<Violation> Violations => [.. _violations];

    public IReadOnlyList<EphemeralSighting> Sightings => [.. _sightings];

    public IReadOnlyCollection<SessionEnd> Ends => [.. _ends.Values];

    public int AbandonedCount => _abandoned.Count;

    /// <summary>Abandon → first read that found the node gone, per abandoned session that is gone.</summary>
    public IReadOnlyList<TimeSpan> ExpiryDelays =>
        [.. _abandoned.Values.Where(a => a.Acked && a.GoneAt is not null).Select(a => TimeSpan.FromTicks(a.GoneAt!.Value - a.AbandonedAt))];

    public IEnumerable<string> StillPresent => _abandoned.Values.Where(a => a.Acked && a.GoneAt is null).Select(a => a.Path);

    /// <summary>The ephemerals' paths and owners, for the watch-derived session ends.</summary>
    public IReadOnlyDictionary<string, long> Owners => _abandoned.ToDictionary(a => a.Key, a => a.Value.Session, StringComparer.Ordinal);

    private long Now => _clock.Elapsed.Ticks;

    /// <summary>Keeps the live session alive and checks it until <paramref name="stop"/>.</summary>
    public async Task RunLiveAsync(CancellationToken stop)
    {
        // Faults may be under way already: retry the setup (a lost session just expires unseen).
        long session;
        var path = $"{root}/live";
        while (true)
        {
            try
            {
                session = await liveClient.OpenSessionAsync(LiveTtl, stop);
                await liveClient.CreateAsync(path, "live"u8.ToArray(), CreateMode.Ephemeral, session, cancellationToken: stop);
                break;
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or IOException && !stop.IsCancellationRequested)
            {
                log($"sessions: live session setup failed ({e.Message}); retrying");
                await liveClient.DeleteAsync(path, cancellationToken: stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        log($"sessions: live session {session} owns {path} (ttl {LiveTtl.TotalSeconds:0} s, keep-alive every 1 s)");
        var readAt = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await liveClient.KeepAliveAsync(session, stop);
                KeepAlives++;
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.SessionExpired)
            {
                _violations.Enqueue(new Violation("live sessions survive failovers", $"keep-alive of live session {session} answered SessionExpired at {_clock.Elapsed.TotalSeconds:0.0}s"));
                return;
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
            {
                if (stop.IsCancellationRequested)
                    return;
                KeepAliveErrors++;
            }
            if (++readAt % 2 == 0)
            {
                try
                {
                    var node = await liveClient.TryGetAsync(path, cancellationToken: stop);
                    LiveReads++;
                    if (node is null)
                    {
                        _violations.Enqueue(new Violation("live sessions survive failovers", $"ephemeral {path} of live session {session} was gone at {_clock.Elapsed.TotalSeconds:0.0}s"));
                        return;
                    }
                }
                catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
                {
                    if (stop.IsCancellationRequested)
                        return;
                }
            }
            try
            {
                await Task.Delay(1000, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Opens and abandons a session every <paramref name="every"/> until <paramref name="stop"/>.</summary>
    public async Task RunAbandonedAsync(TimeSpan every, CancellationToken stop)
    {
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var session = await client.OpenSessionAsync(AbandonedTtl, stop);
                var path = $"{root}/gone-{n++}";
                // The create may time out yet be applied: track the node either way.
                _abandoned[path] = new Abandoned(path, session, Now, Acked: false);
                await client.CreateAsync(path, "x"u8.ToArray(), CreateMode.Ephemeral, session, cancellationToken: stop);
                _abandoned[path] = new Abandoned(path, session, Now, Acked: true);
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.SessionExpired)
            {
                // the session expired before the create (a slow fault): nothing to track
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
            {
                if (stop.IsCancellationRequested)
                    return;
            }
            try
            {
                await Task.Delay(every, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads every abandoned node that is not known gone, every 300 ms, until <paramref name="stop"/>.</summary>
    public async Task RunReaderAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await ReadAbandonedOnceAsync(stop);
            try
            {
                await Task.Delay(300, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task ReadAbandonedOnceAsync(CancellationToken stop)
    {
        foreach (var entry in _abandoned.Values.Where(a => a.GoneAt is null).ToArray())
        {
            var invoked = Now;
            try
            {
                var node = await client.GetAsync(entry.Path, cancellationToken: stop);
                _sightings.Enqueue(new EphemeralSighting(entry.Path, node.Stat.EphemeralOwner, node.Index, invoked));
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.NoNode)
            {
                var known = Now;
                if (!entry.Acked)
                    continue; // not created (yet): says nothing about the session's end
                entry.GoneAt ??= known;
                _ends.AddOrUpdate(entry.Session, new SessionEnd(entry.Session, null, known), (_, old) => old with { KnownAt = Math.Min(old.KnownAt ?? known, known) });
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
            {
                if (stop.IsCancellationRequested)
                    return;
            }
        }
    }

    /// <summary>Reads every abandoned node once more (acknowledged or not); returns those still there.</summary>
    public async Task<IReadOnlyList<string>> FinalPresentAsync()
    {
        var present = new List<string>();
        foreach (var entry in _abandoned.Values)
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                try
                {
                    if (await client.TryGetAsync(entry.Path) is not null)
                        present.Add(entry.Path);
                    break;
                }
                catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
                {
                    await Task.Delay(500);
                }
            }
        }
        return present;
    }

    /// <summary>Adds the index at which a watcher saw an abandoned ephemeral deleted.</summary>
    public void AddDeletion(string path, long index)
    {
        if (_abandoned.TryGetValue(path, out var entry))
            _ends.AddOrUpdate(entry.Session, new SessionEnd(entry.Session, index, null), (_, old) => old with { Index = Math.Min(old.Index ?? index, index) });
    }

    /// <summary>Converts a <see cref="Stopwatch"/>-tick time of this probe to seconds since it started.</summary>
    public static double Seconds(long ticks) => TimeSpan.FromTicks(ticks).TotalSeconds;
}
