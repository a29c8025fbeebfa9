// Intercepted HTTP that names no mesh service goes on to its original destination, plaintext and
// with the caller's Host header, as it would have without the mesh.
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Outbound.Interception;

internal sealed class HttpPassthrough(IHttpForwarder forwarder, OwnConnections own, TimeSpan connectTimeout) : IDisposable
{
    // Its own pool, with connections the loop guard knows (see OwnConnections).
    private readonly HttpMessageInvoker _client = new(CreateHandler(own, connectTimeout), disposeHandler: true);

    private static SocketsHttpHandler CreateHandler(OwnConnections own, TimeSpan connectTimeout)
    {
        var handler = Forwarder.ProxyHandlers.Create(connectTimeout);
        // Every request here is sent to an IP address (the original destination), never a name.
        handler.ConnectCallback = (context, cancellationToken) => own.ConnectAsync(new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), cancellationToken);
        return handler;
    }

    private static readonly ForwarderRequestConfig Request = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromSeconds(100),
    };

    public ValueTask<ForwarderError> SendAsync(HttpContext context, IPEndPoint destination) =>
        forwarder.SendAsync(context, "http://" + destination, _client, Request, KeepHost.Instance);

    public void Dispose() => _client.Dispose();

    private sealed class KeepHost : HttpTransformer
    {
        public static readonly KeepHost Instance = new();

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            if (httpContext.Request.Headers.Host is { Count: > 0 } host)
                proxyRequest.Headers.Host = host.ToString();
        }
    }
}
