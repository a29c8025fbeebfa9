// Routes from sidecar.yaml (`routes:`). Publish replaces the whole set (tests use it to hot-swap).
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Discovery;

internal sealed class StaticRouteSource(IReadOnlyList<RouteConfig> routes) : IRouteSource
{
    private readonly Lock _lock = new();
    private readonly List<Channel<RouteSnapshot>> _watchers = [];
    private RouteSnapshot _current = new(1, routes);

    public RouteSnapshot Current => Volatile.Read(ref _current);

    public void Publish(IReadOnlyList<RouteConfig> routes)
    {
        lock (_lock)
        {
            _current = new RouteSnapshot(_current.Index + 1, routes);
            foreach (var watcher in _watchers)
                watcher.Writer.TryWrite(_current);
        }
    }

    public async IAsyncEnumerable<RouteSnapshot> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<RouteSnapshot>(new UnboundedChannelOptions { SingleReader = true });
        lock (_lock)
        {
            _watchers.Add(channel);
            channel.Writer.TryWrite(_current);
        }
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                    yield return item;
            }
        }
        finally
        {
            lock (_lock)
                _watchers.Remove(channel);
        }
    }
}
