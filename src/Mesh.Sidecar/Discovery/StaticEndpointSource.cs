// Endpoints from sidecar.yaml (`endpoints:`), for development and tests. Publish replaces a
// service's snapshot and wakes its watchers, which is how tests script endpoint changes.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Mesh.Sidecar.Core;

namespace Mesh.Sidecar.Discovery;

internal sealed class StaticEndpointSource : IEndpointSource
{
    private readonly ConcurrentDictionary<string, ServiceEndpoints> _current = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<ServiceEndpoints>, string> _watchers = new();
    private readonly Lock _publishLock = new();

    public StaticEndpointSource(IEnumerable<ServiceEndpoints> initial)
    {
        foreach (var endpoints in initial)
            _current[endpoints.Service] = endpoints;
    }

    public IReadOnlyCollection<string> KnownServices => [.. _current.Keys];

    /// <summary>Replaces the snapshot of <paramref name="endpoints"/>.Service and notifies watchers.</summary>
    public void Publish(ServiceEndpoints endpoints)
    {
        lock (_publishLock)
        {
            _current[endpoints.Service] = endpoints;
            foreach (var (channel, service) in _watchers)
            {
                if (service == endpoints.Service)
                    channel.Writer.TryWrite(endpoints);
            }
        }
    }

    public async IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<ServiceEndpoints>(new UnboundedChannelOptions { SingleReader = true });
        lock (_publishLock)
        {
            _watchers[channel] = service;
            if (_current.TryGetValue(service, out var first))
                channel.Writer.TryWrite(first);
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
            _watchers.TryRemove(channel, out _);
        }
    }
}
