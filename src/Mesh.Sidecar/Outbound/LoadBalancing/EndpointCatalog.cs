// The sidecar's view of every service it talks to: one ClusterState per service, each fed by a
// watch on the IEndpointSource. Watches start on first use (a route names the service) or at
// startup for the services the source already knows.
using System.Collections.Concurrent;
using Mesh.Sidecar.Discovery;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Outbound.LoadBalancing;

internal sealed partial class EndpointCatalog(IEndpointSource source, TimeProvider timeProvider, ILogger logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ClusterState> _clusters = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _watches = [];
    private readonly CancellationTokenSource _stopping = new();

    public IEnumerable<ClusterState> Clusters => _clusters.Values.OrderBy(c => c.Service, StringComparer.Ordinal);

    /// <summary>Raised when a service gets its first endpoints (implicit routes change).</summary>
    public event Action? ServicesChanged;

    public void WatchKnownServices()
    {
        foreach (var service in source.KnownServices)
            GetOrWatch(service);
    }

    /// <summary>At most this many services are looked up because a request named them, so a flood of made-up Host headers cannot start unbounded watches.</summary>
    public const int MaxOnDemandServices = 256;
    private int _onDemand;

    /// <summary>
    /// Starts watching a service a request named that no route knows yet (discovery on demand, as
    /// Linkerd's destination lookups are) and waits briefly for its first snapshot. False when
    /// the name cannot be a service, the on-demand budget is spent, or no answer came in time.
    /// </summary>
    public async ValueTask<bool> TryDiscoverAsync(string service, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (service.Length is 0 or > 253 || !service.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            return false;
        if (!_clusters.ContainsKey(service) && Interlocked.Increment(ref _onDemand) > MaxOnDemandServices)
            return false;
        var cluster = GetOrWatch(service);
        try
        {
            await cluster.FirstUpdate.WaitAsync(wait, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }

        return cluster.Snapshot.IsKnown;
    }

    public ClusterState GetOrWatch(string service)
    {
        if (_clusters.TryGetValue(service, out var existing))
            return existing;
        var cluster = new ClusterState(service, timeProvider);
        if (!_clusters.TryAdd(service, cluster))
            return _clusters[service];
        cluster.BecameKnown += _ => ServicesChanged?.Invoke();
        _watches.Add(Task.Run(() => WatchAsync(cluster, _stopping.Token)));
        return cluster;
    }

    // A source should resume by itself; if it throws anyway, keep the last snapshot and re-watch.
    private Task WatchAsync(ClusterState cluster, CancellationToken cancellationToken) =>
        new Mesh.Common.Time.RetryLoop(WatchBackoff, timeProvider).WatchAsync(
            token => source.WatchAsync(cluster.Service, token), cluster.Update,
            (e, _) => Log.WatchFailed(logger, cluster.Service, e), cancellationToken);

    private static readonly Mesh.Common.Time.Backoff WatchBackoff = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));

    private int _disposed;

    /// <summary>Stops every watch; a second call does nothing (the host stops the catalog before its container disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_watches).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Endpoint watch for service {Service} failed; retrying")]
        public static partial void WatchFailed(ILogger logger, string service, Exception exception);
    }
}
