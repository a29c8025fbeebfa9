// The endpoints of one service: discovery snapshots come in, ejections come and go, and each
// change builds a new immutable ClusterSnapshot that is swapped in whole. Requests only ever
// read the current snapshot; they never take the lock.
using System.Collections.Frozen;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed class ClusterState(string service, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, EndpointState> _byId = new(StringComparer.Ordinal);
    private ClusterSnapshot _snapshot = ClusterSnapshot.Unknown(service);

    public string Service { get; } = service;

    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>The current snapshot; brings ejected endpoints back once their time is up.</summary>
    public ClusterSnapshot Snapshot
    {
        get
        {
            var snapshot = Volatile.Read(ref _snapshot);
            if (snapshot.NextReturnTimestamp != 0 && TimeProvider.GetTimestamp() >= snapshot.NextReturnTimestamp)
                snapshot = RebuildIfDue();
            return snapshot;
        }
    }

    /// <summary>Raised (outside the lock) the first time the service has endpoints.</summary>
    public event Action<ClusterState>? BecameKnown;

    private readonly TaskCompletionSource _firstUpdate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes after the first snapshot from discovery was applied (and its BecameKnown handlers ran).</summary>
    public Task FirstUpdate => _firstUpdate.Task;

    public void Update(ServiceEndpoints endpoints)
    {
        bool becameKnown;
        lock (_lock)
        {
            var wasKnown = _snapshot.IsKnown;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var endpoint in endpoints.Endpoints)
            {
                seen.Add(endpoint.Id);
                if (_byId.TryGetValue(endpoint.Id, out var state))
                    state.Update(endpoint);
                else
                    _byId[endpoint.Id] = new EndpointState(endpoint);
            }
            foreach (var id in _byId.Keys.Where(id => !seen.Contains(id)).ToList())
                _byId.Remove(id);
            Build(endpoints.Index);
            becameKnown = !wasKnown && _snapshot.IsKnown;
        }
        if (becameKnown)
            BecameKnown?.Invoke(this);
        _firstUpdate.TrySetResult();
    }

    /// <summary>Builds a new snapshot from the current endpoints and ejections (after an ejection, or when one ends).</summary>
    public ClusterSnapshot Rebuild()
    {
        lock (_lock)
        {
            Build(_snapshot.Index);
            return _snapshot;
        }
    }

    private ClusterSnapshot RebuildIfDue()
    {
        lock (_lock)
        {
            // Many requests may see the due time at once; only the first rebuilds.
            var current = _snapshot;
            if (current.NextReturnTimestamp == 0 || TimeProvider.GetTimestamp() < current.NextReturnTimestamp)
                return current;
            Build(current.Index);
            return _snapshot;
        }
    }

    private void Build(long index)
    {
        var now = TimeProvider.GetTimestamp();
        var all = _byId.Values.OrderBy(e => e.Endpoint.Id, StringComparer.Ordinal).ToArray();
        var healthy = new List<EndpointState>(all.Length);
        long nextReturn = 0;
        foreach (var endpoint in all)
        {
            var until = Volatile.Read(ref endpoint.EjectedUntil);
            if (until != 0 && until <= now)
            {
                Volatile.Write(ref endpoint.EjectedUntil, 0);
                until = 0;
            }
            if (until == 0)
                healthy.Add(endpoint);
            else if (nextReturn == 0 || until < nextReturn)
                nextReturn = until;
        }
        var byVersion = healthy
            .GroupBy(e => e.Endpoint.Version, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => new EndpointSet([.. g]), StringComparer.Ordinal);
        var isKnown = _snapshot.IsKnown || all.Length > 0;
        Volatile.Write(ref _snapshot, new ClusterSnapshot(Service, index, isKnown, all, new EndpointSet([.. healthy]), byVersion, nextReturn));
    }
}

internal sealed class ClusterSnapshot(
    string service,
    long index,
    bool isKnown,
    EndpointState[] all,
    EndpointSet healthy,
    FrozenDictionary<string, EndpointSet> healthyByVersion,
    long nextReturnTimestamp)
{
    public static ClusterSnapshot Unknown(string service) =>
        new(service, 0, false, [], EndpointSet.Empty, FrozenDictionary<string, EndpointSet>.Empty, 0);

    public string Service { get; } = service;

    public long Index { get; } = index;

    /// <summary>False until discovery has reported at least one endpoint for the service.</summary>
    public bool IsKnown { get; } = isKnown;

    public EndpointState[] All { get; } = all;

    public EndpointSet Healthy { get; } = healthy;

    public long NextReturnTimestamp { get; } = nextReturnTimestamp;

    /// <summary>Healthy endpoints of <paramref name="version"/> (null: every version).</summary>
    public EndpointSet Get(string? version) =>
        version is null ? Healthy : healthyByVersion.TryGetValue(version, out var set) ? set : EndpointSet.Empty;
}
