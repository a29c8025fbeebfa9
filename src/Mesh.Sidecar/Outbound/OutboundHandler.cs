// The outbound path, in request order: guard → route match (interception, discovery) → rate
// limit → attempts inside the route's timeout: pick an endpoint, forward (IHttpForwarder with the
// cached invoker), judge the outcome for outlier detection, and let the route's RetryPolicy decide
// whether to go again (the first attempt directly, any retry through the route's Polly pipeline).
// Telemetry records every request once, whichever way it ends. Proxy-made errors are 503/504 with
// `x-mesh-error`.
using System.Net;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Guard;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Outbound.Interception;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Polly;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Outbound;

internal sealed class OutboundHandler(
    SidecarState state,
    IHttpForwarder forwarder,
    ForwarderClients clients,
    RetryBudget budget,
    OutlierDetector outliers,
    EndpointPicker picker,
    EndpointCatalog catalog,
    ISidecarTelemetry telemetry,
    Security.SidecarSecurity? security = null,
    InterceptedDestinations? intercepted = null,
    HttpPassthrough? passthrough = null)
{
    /// <summary>How long a request naming a service nobody asked for yet waits for its first endpoints.</summary>
    private static readonly TimeSpan DiscoveryWait = TimeSpan.FromSeconds(2);

    private readonly Microsoft.Extensions.ObjectPool.ObjectPool<OutboundRequest> _requests = OutboundRequest.Pool(budget, telemetry);

    public async Task HandleAsync(HttpContext context)
    {
        var scope = telemetry.RequestStarted(context, RequestDirection.Outbound);
        CompiledRoute? route = null;
        OutboundRequest? outbound = null;
        try
        {
            if (RequestGuard.TryReject(context, out var rejected))
            {
                await rejected.ConfigureAwait(false);
                return;
            }
            var request = context.Request;
            var host = request.Headers.Host.ToString();
            var status = state.Routes.Match(host, request.Path.Value ?? "/", request.Method, request.Headers, out route);
            // Set only on connections `mesh iptables` redirected here (transparent interception).
            var destination = context.Features.Get<IOriginalDestinationFeature>()?.OriginalDestination;
            if (status == RouteMatchStatus.UnknownService && destination is not null && intercepted?.ServiceFor(destination) is { } service)
            {
                // The app called the service by an address (http://10.96.0.10:8080/): route as if it had named it.
                host = service;
                status = state.Routes.Match(host, request.Path.Value ?? "/", request.Method, request.Headers, out route);
            }
            if (status == RouteMatchStatus.UnknownService &&
                !(destination is not null && IPAddress.TryParse(HostName(host), out _)) &&
                await catalog.TryDiscoverAsync(HostName(host), DiscoveryWait, context.RequestAborted).ConfigureAwait(false))
            {
                // The service became known and its implicit route was compiled: match again.
                status = state.Routes.Match(host, request.Path.Value ?? "/", request.Method, request.Headers, out route);
            }
            if (status == RouteMatchStatus.UnknownService && destination is not null && passthrough is not null)
            {
                // Not a mesh destination: interception must not break it, so it goes where the app sent it.
                var error = await passthrough.SendAsync(context, destination).ConfigureAwait(false);
                if (error != ForwarderError.None && !context.Response.HasStarted)
                    context.Response.Headers[MeshErrors.Header] = MeshErrors.UpstreamUnavailable;
                return;
            }
            if (status != RouteMatchStatus.Matched)
            {
                await (status == RouteMatchStatus.NoRoute
                    ? MeshErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, MeshErrors.NoRoute, $"no route matches {request.Method} {request.Host}{request.Path}")
                    : MeshErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, MeshErrors.UnknownService, $"unknown service '{request.Host}'")).ConfigureAwait(false);
                return;
            }

            // Refused: the stage answered 429, and the finally below records it like any answer.
            using var permit = await RateLimitStage.AcquireAsync(context, route!.RateLimits).ConfigureAwait(false);
            if (!permit.IsAcquired)
                return;

            budget.RecordRequest();
            outbound = _requests.Get().Start(context, route, route.Retry.MaxAttempts > 1 && IsReplayable(context));
            // The attempts run under the route's shared deadline; the forwarder adds the caller's
            // RequestAborted itself, and a retry checks it before it goes (AttemptAsync).
            var deadline = route.Deadline.Token;
            // The first attempt goes without Polly: most requests end with it, and Polly only times
            // retries. It runs as Polly's retry strategy runs one (a deadline already past is a
            // timeout, an exception is the outcome), so RetryAsync hands the rest to the pipeline
            // as if Polly had made it. Inline, not a method of its own: one state machine fewer
            // on the heap for every request that waits for its upstream.
            Outcome<AttemptResult> outcome;
            if (deadline.IsCancellationRequested)
            {
                outcome = Outcome.FromException<AttemptResult>(new OperationCanceledException(deadline));
            }
            else
            {
                try
                {
                    outcome = await AttemptAsync(outbound, deadline).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    outcome = Outcome.FromException<AttemptResult>(e);
                }
            }
            if (outcome.Exception is null && outcome.Result == AttemptResult.Retry)
                outcome = await RetryAsync(outbound, deadline).ConfigureAwait(false);
            if (outcome.Exception is OperationCanceledException && deadline.IsCancellationRequested)
            {
                if (!context.RequestAborted.IsCancellationRequested)
                    await MeshErrors.WriteAsync(context, StatusCodes.Status504GatewayTimeout, MeshErrors.Timeout, $"route '{route.Name}' timed out after {route.Timeout}").ConfigureAwait(false);
            }
            else
            {
                outcome.ThrowIfException();
            }
        }
        finally
        {
            telemetry.RequestCompleted(new RequestRecord(scope, context, route?.Name, outbound?.LastCluster?.Service ?? route?.Backends[0].Service,
                outbound?.LastEndpoint?.Endpoint, outbound?.LastEndpoint?.DestinationPrefix, outbound?.Attempt ?? 0));
            if (outbound is not null)
                _requests.Return(outbound);
        }
    }

    /// <summary>
    /// The first attempt asked for a retry: the route's pipeline takes over. Its first call
    /// replays that answer instead of attempting again, so Polly counts it as its own first
    /// attempt and the backoff, jitter and number of retries are what they were when Polly ran
    /// every attempt.
    /// </summary>
    private async ValueTask<Outcome<AttemptResult>> RetryAsync(OutboundRequest outbound, CancellationToken deadline)
    {
        // Polly's retry strategy ends here when the deadline fired during the first attempt,
        // with that attempt's answer (its own pre-call check would make it a timeout instead).
        if (deadline.IsCancellationRequested)
            return Outcome.FromResult(AttemptResult.Retry);
        outbound.FirstAttemptPending = true;
        var resilience = ResilienceContextPool.Shared.Get(deadline);
        try
        {
            return await outbound.Route.Pipeline.ExecuteOutcomeAsync(
                static (resilience, state) =>
                {
                    if (!state.Request.FirstAttemptPending)
                        return state.Handler.AttemptAsync(state.Request, resilience.CancellationToken);
                    state.Request.FirstAttemptPending = false;
                    return new ValueTask<Outcome<AttemptResult>>(Outcome.FromResult(AttemptResult.Retry));
                },
                resilience,
                (Handler: this, Request: outbound)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    private static string HostName(string host)
    {
        var colon = host.LastIndexOf(':');
        return colon > 0 && !host.EndsWith(']') ? host[..colon] : host;
    }

    /// <summary>
    /// One attempt, in order: pick an endpoint (not one already tried), forward to it, judge whose
    /// fault the outcome was (only the endpoint's counts against it), then let the route's
    /// RetryPolicy say whether a broken exchange goes again; a retried response was already
    /// withheld by <see cref="OutboundRequest.TransformResponseAsync"/>.
    /// </summary>
    private async ValueTask<Outcome<AttemptResult>> AttemptAsync(OutboundRequest outbound, CancellationToken cancellationToken)
    {
        var context = outbound.Context;
        if (outbound.Attempt > 0)
        {
            // The caller left during the backoff: no attempt for a caller that is gone (recorded as 499).
            if (context.RequestAborted.IsCancellationRequested)
                return Outcome.FromResult(AttemptResult.Done);
            // The previous attempt's status and headers were set but never sent.
            context.Response.Clear();
            outbound.Withheld = false;
        }
        outbound.Attempt++;

        var route = outbound.Route;
        var endpoint = picker.Pick(route, outbound, out var cluster, out var serviceKnown);
        if (endpoint is null)
        {
            await (serviceKnown
                ? MeshErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, MeshErrors.NoHealthyEndpoints, $"no healthy endpoints for route '{route.Name}'")
                : MeshErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, MeshErrors.UnknownService, $"unknown service '{route.Backends[0].Service}'")).ConfigureAwait(false);
            return Outcome.FromResult(AttemptResult.Done);
        }
        outbound.AddTried(endpoint);
        outbound.LastCluster = cluster;

        Interlocked.Increment(ref endpoint.ActiveRequests);
        Interlocked.Increment(ref endpoint.Requests);
        ForwarderError error;
        try
        {
            var destination = outbound.Destination = security is null ? endpoint.Destination : endpoint.TlsDestination;
            error = security is null
                ? await forwarder.SendAsync(context, destination.Prefix, clients.Upstream, UpstreamVersion.For(context, clients.UpstreamRequest), outbound, cancellationToken).ConfigureAwait(false)
                : await forwarder.SendAsync(context, destination.Prefix, endpoint.MtlsInvoker(cluster!.Service, security), UpstreamVersion.For(context, security.UpstreamRequest), outbound, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref endpoint.ActiveRequests);
        }

        var fault = FaultClassifier.Classify(new AttemptFacts(
            error,
            context.Response.StatusCode,
            UpstreamMeshError(context),
            ClientAborted: context.RequestAborted.IsCancellationRequested,
            RouteTimedOut: cancellationToken.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested));
        // Only what the endpoint did counts against it; the caller's and this sidecar's own
        // faults leave its health alone (a success, though, says nothing either way for those).
        if (fault == Fault.Endpoint)
            outliers.ReportFailure(cluster!, endpoint, route.OutlierDetection);
        else if (fault == Fault.None && error == ForwarderError.None && !outbound.Withheld)
            outliers.ReportSuccess(endpoint, route.OutlierDetection);

        if (error == ForwarderError.None)
            return Outcome.FromResult(outbound.Withheld ? AttemptResult.Retry : AttemptResult.Done);

        if (fault == Fault.Client)
        {
            // The caller's body broke (over the limit, too slow, bad chunking) or it went away:
            // the forwarder set a 4xx if anything can still be sent.
            if (!context.RequestAborted.IsCancellationRequested)
                MeshErrors.TagClientBodyError(context);
            return Outcome.FromResult(AttemptResult.Done);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            // The route's deadline fired: HandleAsync answers 504.
            return Outcome.FromException<AttemptResult>(new OperationCanceledException(cancellationToken));
        }
        if (fault == Fault.Sidecar)
        {
            var reason = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString();
            await MeshErrors.WriteAsync(context, StatusCodes.Status501NotImplemented, MeshErrors.CannotForward, $"the sidecar cannot forward this request: {reason}").ConfigureAwait(false);
            return Outcome.FromResult(AttemptResult.Done);
        }
        if (outbound.ShouldRetry(new RetryFacts(outbound.Attempt, outbound.Replayable, Error: error, ConnectFailure: IsConnectFailure(context), ResponseStarted: context.Response.HasStarted)))
            return Outcome.FromResult(AttemptResult.Retry);
        MeshErrors.MarkUpstreamUnavailable(context);
        return Outcome.FromResult(AttemptResult.Done);
    }

    /// <summary>The next hop's `x-mesh-error`, when it is a sidecar that answered itself.</summary>
    private static string? UpstreamMeshError(HttpContext context) =>
        context.Response.Headers.TryGetValue(MeshErrors.Header, out var value) && value.Count == 1 ? value[0] : null;

    private static bool IsReplayable(HttpContext context)
    {
        var method = context.Request.Method;
        if (!(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
              || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method)))
        {
            return false;
        }
        // A streamed body cannot be sent twice; upgrades (WebSockets) are not retried either.
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
            return false;
        return context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true };
    }

    // A refused TLS handshake (a peer whose identity its service's owner does not allow, secure
    // naming) is a failed connect of that endpoint too: nothing was sent, so another endpoint may be tried.
    private static bool IsConnectFailure(HttpContext context) =>
        context.Features.Get<IForwarderErrorFeature>()?.Exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        };
}
