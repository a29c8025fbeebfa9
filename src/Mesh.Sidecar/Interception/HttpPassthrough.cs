// Intercepted HTTP that names no mesh service goes on to its original destination, plaintext and
// with the caller's Host header, as it would have without the mesh.
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Interception;

internal sealed class HttpPassthrough(IHttpForwarder forwarder, HttpMessageInvoker client)
{
    private static readonly ForwarderRequestConfig Request = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromSeconds(100),
    };

    public ValueTask<ForwarderError> SendAsync(HttpContext context, IPEndPoint destination) =>
        forwarder.SendAsync(context, "http://" + destination, client, Request, KeepHost.Instance);

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
