// Which HTTP version a forwarded request uses. gRPC needs HTTP/2 on every hop (streams in both
// directions, trailers carry grpc-status), so a hop's configured protocol is only the default for
// requests that do not need HTTP/2.
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Forwarder;

internal static class UpstreamVersion
{
    /// <summary>HTTP/2 or fail: prior knowledge in plaintext, ALPN h2 over TLS; never a silent HTTP/1.1 that would lose trailers.</summary>
    public static readonly ForwarderRequestConfig Http2Exact = new()
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        ActivityTimeout = TimeSpan.FromSeconds(100),
    };

    /// <summary>
    /// gRPC goes as HTTP/2 on every hop, whatever the hop is configured for: h2c to a plaintext
    /// sidecar or app (their listeners take it beside HTTP/1.1), h2 by ALPN between mTLS sidecars.
    /// Everything else keeps the hop's configured protocol; between sidecars it may be HTTP/2
    /// either way, so the incoming version alone does not say what the next hop speaks.
    /// </summary>
    public static ForwarderRequestConfig For(HttpContext context, ForwarderRequestConfig configured) =>
        IsGrpc(context.Request) ? Http2Exact : configured;

    /// <summary>gRPC proper (application/grpc, +proto, +json); grpc-web works over HTTP/1.1 and is not included.</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type
        && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && !type.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase);
}
