// The HttpMessageInvokers the sidecar forwards with: one for remote endpoints (HTTP/2 prior
// knowledge when configured: multiplexed hops are the biggest win, see shared bench notes) and one
// for the local app (HTTP/1.1 by default). Created once; connection pools live inside them.
using System.Net;
using Mesh.Sidecar.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Forwarder;

internal sealed class ForwarderClients : IDisposable
{
    public ForwarderClients(SidecarConfig config)
    {
        Upstream = new HttpMessageInvoker(CreateHandler(config.Upstream.ConnectTimeout, config.Upstream.PooledConnectionIdleTimeout), disposeHandler: true);
        UpstreamRequest = RequestConfig(config.Upstream.Protocol);
        App = new HttpMessageInvoker(CreateHandler(config.Upstream.ConnectTimeout, config.Upstream.PooledConnectionIdleTimeout), disposeHandler: true);
        AppRequest = RequestConfig(config.App.Protocol);
        AppDestination = new DestinationUris(config.App.Address.TrimEnd('/'));
    }

    public HttpMessageInvoker Upstream { get; }

    public ForwarderRequestConfig UpstreamRequest { get; }

    public HttpMessageInvoker App { get; }

    public ForwarderRequestConfig AppRequest { get; }

    /// <summary>The app's address (scheme, host, port) and the request Uris already built for it.</summary>
    public DestinationUris AppDestination { get; }

    public string AppPrefix => AppDestination.Prefix;

    private static ForwarderRequestConfig RequestConfig(UpstreamProtocol protocol) => protocol == UpstreamProtocol.Http2
        ? new ForwarderRequestConfig { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, ActivityTimeout = TimeSpan.FromSeconds(100) }
        : new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower, ActivityTimeout = TimeSpan.FromSeconds(100) };

    private static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, TimeSpan idleTimeout)
    {
        var handler = ProxyHandlers.Create(connectTimeout);
        handler.PooledConnectionIdleTimeout = idleTimeout;
        return handler;
    }

    public void Dispose()
    {
        Upstream.Dispose();
        App.Dispose();
    }
}
