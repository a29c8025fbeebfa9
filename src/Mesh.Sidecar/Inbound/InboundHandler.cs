// The inbound path: traffic from remote sidecars goes to the local app over the cached app
// invoker. While draining, HTTP/1.1 responses say `Connection: close` so callers move on.
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Guard;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Inbound;

internal sealed class InboundHandler(SidecarState state, IHttpForwarder forwarder, ForwarderClients clients, ISidecarTelemetry telemetry, SidecarSecurity? security = null, RateLimitStage? rateLimits = null)
{
    private readonly HttpTransformer _transformer = new PreserveHostTransformer(telemetry, clients.AppDestination);

    // One async method for the whole request: when the app's answer is awaited, one state
    // machine goes to the heap, not one for the request and another for the forwarding.
    public async Task HandleAsync(HttpContext context)
    {
        var scope = telemetry.RequestStarted(context, RequestDirection.Inbound);
        try
        {
            if (RequestGuard.TryReject(context, out var rejected))
            {
                await rejected.ConfigureAwait(false);
                return;
            }
            if (HttpProtocol.IsHttp2(context.Request.Protocol))
                TrustCallerSidecarForBodyRate(context);
            if (state.IsDraining && HttpProtocol.IsHttp11(context.Request.Protocol))
                context.Response.Headers.Connection = "close";
            // Authorization first: a denied caller does not use up rate-limit permits.
            if (security is not null)
            {
                security.CountInbound(context);
                if (!await security.Authorization.AuthorizeAsync(context).ConfigureAwait(false))
                    return;
            }
            using var permit = await RateLimitStage.AcquireAsync(context, rateLimits).ConfigureAwait(false);
            if (!permit.IsAcquired)
                return;
            var error = await forwarder.SendAsync(context, clients.AppPrefix, clients.App, UpstreamVersion.For(context, clients.AppRequest), _transformer).ConfigureAwait(false);
            switch (FaultClassifier.Classify(new AttemptFacts(error, context.Response.StatusCode, ClientAborted: context.RequestAborted.IsCancellationRequested)))
            {
                case Fault.Client:
                    // Tagged, so the calling sidecar does not count this against this instance.
                    MeshErrors.TagClientBodyError(context);
                    break;
                case Fault.Sidecar:
                    await MeshErrors.WriteAsync(context, StatusCodes.Status501NotImplemented, MeshErrors.CannotForward,
                        $"the sidecar cannot forward this request: {context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString()}").ConfigureAwait(false);
                    break;
                case Fault.Endpoint when error != ForwarderError.None && AppSpokeOtherProtocol(context):
                    await MeshErrors.WriteAsync(context, StatusCodes.Status502BadGateway, MeshErrors.AppProtocol,
                        $"the app at {clients.AppPrefix} does not speak HTTP/2 with prior knowledge, which app.protocol: h2c declares " +
                        $"(set app.protocol: http1, or serve h2c): {context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message}").ConfigureAwait(false);
                    break;
                case Fault.Endpoint when error != ForwarderError.None:
                    MeshErrors.MarkUpstreamUnavailable(context);
                    break;
            }
        }
        finally
        {
            telemetry.RequestCompleted(new RequestRecord(scope, context));
        }
    }

    /// <summary>
    /// The app answered, but not in HTTP/2: it was declared h2c (app.protocol) and serves HTTP/1.1
    /// only. Kestrel answers the HTTP/2 preface with HTTP_1_1_REQUIRED; other servers answer in
    /// HTTP/1.1, which the HTTP/2 client reads as broken frames (PROTOCOL_ERROR, FRAME_SIZE_ERROR,
    /// or an invalid response). An app that does speak HTTP/2 and resets a stream (INTERNAL_ERROR,
    /// REFUSED_STREAM, CANCEL...) fails as any endpoint does.
    /// </summary>
    private bool AppSpokeOtherProtocol(HttpContext context) =>
        clients.AppRequest.Version == System.Net.HttpVersion.Version20
        && context.Features.Get<IForwarderErrorFeature>()?.Exception is HttpRequestException request
        && (request.HttpRequestError == HttpRequestError.InvalidResponse
            || request.HttpRequestError == HttpRequestError.HttpProtocolError && IsFramingError(request));

    private const long Http2ProtocolError = 0x1, Http2FrameSizeError = 0x6, Http2Http11Required = 0xd;

    private static bool IsFramingError(Exception error)
    {
        for (var e = (Exception?)error; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
                return protocol.ErrorCode is Http2ProtocolError or Http2FrameSizeError or Http2Http11Required;
        }
        return false;
    }

    /// <summary>
    /// Turns off Kestrel's minimum request body rate for an HTTP/2 request. On HTTP/2 Kestrel
    /// checks that rate over the whole connection and, when it is missed, aborts the connection:
    /// between sidecars that connection carries many callers' requests, so one app trickling its
    /// body would break all of them and the calling sidecar would count the resets against this
    /// instance. The calling sidecar enforces the rate on its own app (its outbound listener),
    /// where the slow body is, and answers that caller 408 alone.
    /// </summary>
    private static void TrustCallerSidecarForBodyRate(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>() is { } rate)
            rate.MinDataRate = null;
    }

    /// <summary>The app sees the Host its caller used (the service name), not the loopback address.</summary>
    private sealed class PreserveHostTransformer(ISidecarTelemetry telemetry, DestinationUris app) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.RequestUri = app.For(httpContext.Request);
            var host = httpContext.Request.Headers.Host;
            if (host.Count == 1)
                proxyRequest.Headers.Host = host.ToString();
            // Only this sidecar may say who called: a caller's own x-mesh-caller never reaches the app.
            proxyRequest.Headers.Remove(SidecarSecurity.CallerHeader);
            if (httpContext.GetCallerText() is { } caller)
                proxyRequest.Headers.TryAddWithoutValidation(SidecarSecurity.CallerHeader, caller);
            telemetry.InjectTraceContext(proxyRequest);
        }
    }
}
