// This sidecar's share of mesh-wide limits: limit × own weight / total weight of the service's
// live instances, from the registry's view of membership. RegistryMeshShare keeps it current by
// consuming RegistryClient.WatchServiceAsync (a long poll that returns as soon as the instance
// set changes), so a re-split follows a join or a leave within the registry's watch latency.
using Mesh.Registry.Client;

namespace Mesh.Sidecar.RateLimiting;

/// <summary>A share (0..1] that mesh-wide limits scale by; 1 until membership is known.</summary>
internal class MeshShare
{
    private double _value;

    public MeshShare(double initial = 1) => _value = initial;

    public double Value => Volatile.Read(ref _value);

    /// <summary>Raised after <see cref="Value"/> changed; handlers must be quick.</summary>
    public event Action<double>? Changed;

    public void Set(double value)
    {
        if (value is <= 0 or > 1 || double.IsNaN(value))
            throw new ArgumentOutOfRangeException(nameof(value), value, "a share is in (0, 1]");
        if (Interlocked.Exchange(ref _value, value) != value)
            Changed?.Invoke(value);
    }

    /// <summary>
    /// own weight / total weight of the live instances. An instance missing from the set (not yet
    /// registered, or dropped by a lapsed session) counts itself in with <paramref name="ownWeight"/>,
    /// so it never takes the whole limit by mistake. All weights 0: an even split by count.
    /// </summary>
    public static double Compute(IEnumerable<(string Id, int Weight)> live, string ownId, int ownWeight)
    {
        long total = 0;
        var count = 0;
        var own = -1;
        foreach (var (id, weight) in live)
        {
            total += Math.Max(0, weight);
            count++;
            if (id == ownId)
                own = Math.Max(0, weight);
        }
        if (own < 0)
        {
            own = Math.Max(0, ownWeight);
            total += own;
            count++;
        }
        if (total == 0)
            return 1.0 / count;
        // A weight-0 instance gets no traffic from balancers; it keeps a token share for strays.
        return Math.Max(own, 1e-3 * total) / total;
    }
}

/// <summary>Keeps a <see cref="MeshShare"/> current from the registry's live instances of one service.</summary>
internal sealed class RegistryMeshShare : MeshShare, IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _watch;
    private long _index = -1;

    public RegistryMeshShare(RegistryClient client, string service, string instanceId, int ownWeight)
    {
        Service = service;
        InstanceId = instanceId;
        _watch = Task.Run(() => WatchAsync(client, ownWeight, _stop.Token));
    }

    /// <summary>From a registration: its service, instance id and weight.</summary>
    public RegistryMeshShare(RegistryClient client, ServiceRegistration registration)
        : this(client, registration.Service, registration.Instance.Id, registration.Instance.Weight)
    {
    }

    public string Service { get; }

    public string InstanceId { get; }

    /// <summary>The registry index of the membership the share was computed from; -1 before the first.</summary>
    public long Index => Interlocked.Read(ref _index);

    // After a failure the last share (the best guess) stays until the watch is back.
    private Task WatchAsync(RegistryClient client, int ownWeight, CancellationToken cancellationToken) =>
        new Mesh.Common.Time.RetryLoop(Mesh.Common.Time.Backoff.Constant(TimeSpan.FromMilliseconds(250)), client.Options.TimeProvider).WatchAsync(
            token => client.WatchServiceAsync(Service, token),
            set =>
            {
                Set(Compute(set.Instances.Select(i => (i.Id, i.Weight)), InstanceId, ownWeight));
                Interlocked.Exchange(ref _index, set.Index);
            },
            null, cancellationToken,
            retryable: e => e is HttpRequestException or RegistryException or TimeoutException or OperationCanceledException);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watch.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
