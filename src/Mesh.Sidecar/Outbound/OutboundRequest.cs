// One request going out through the outbound listener, across its attempts. It is also the YARP
// transformer for those attempts: it keeps the caller's Host header (the remote sidecar and app
// see the logical service name) and withholds a response the route's RetryPolicy retries.
// Pooled by the handler (Pool): taken when a request passes the rate limit, returned once its
// telemetry is recorded, so the request path allocates none of these.
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Outbound;

internal sealed class OutboundRequest(RetryBudget budget, ISidecarTelemetry telemetry) : HttpTransformer
{
    public HttpContext Context { get; private set; } = null!;

    public CompiledRoute Route { get; private set; } = null!;

    /// <summary>Idempotent method, no request body, not an upgrade: safe to send again.</summary>
    public bool Replayable { get; private set; }

    public int Attempt { get; set; }

    /// <summary>A pool of these for one handler; its size bounds what stays allocated between bursts.</summary>
    public static ObjectPool<OutboundRequest> Pool(RetryBudget budget, ISidecarTelemetry telemetry) =>
        new DefaultObjectPool<OutboundRequest>(new Policy(budget, telemetry), maximumRetained: 1024);

    /// <summary>Makes this the state of <paramref name="context"/>'s request (fresh from the pool).</summary>
    public OutboundRequest Start(HttpContext context, CompiledRoute route, bool replayable)
    {
        Context = context;
        Route = route;
        Replayable = replayable;
        return this;
    }

    // Endpoints already tried, so retries go elsewhere; the list exists only once a retry happens.
    private EndpointState? _firstTried;
    private List<EndpointState>? _moreTried;

    public void AddTried(EndpointState endpoint)
    {
        if (_firstTried is null)
            _firstTried = endpoint;
        else
            (_moreTried ??= []).Add(endpoint);
    }

    /// <summary>The endpoint of the last attempt and its service, for telemetry.</summary>
    public EndpointState? LastEndpoint => _moreTried is { Count: > 0 } more ? more[^1] : _firstTried;

    public ClusterState? LastCluster { get; set; }

    public bool HasTried(EndpointState endpoint) =>
        ReferenceEquals(endpoint, _firstTried) || (_moreTried is not null && _moreTried.Contains(endpoint));

    /// <summary>The last attempt's response was withheld because it will be retried.</summary>
    public bool Withheld { get; set; }

    /// <summary>
    /// The first attempt, made before the route's pipeline, asked for a retry; the pipeline's
    /// first call answers that instead of attempting (OutboundHandler.RetryAsync).
    /// </summary>
    public bool FirstAttemptPending { get; set; }

    /// <summary>Asks the route's <see cref="RetryPolicy"/>, then the budget, whether this request goes again.</summary>
    public bool ShouldRetry(in RetryFacts facts) =>
        Route.Retry.ShouldRetry(facts, budget, Route, LastCluster);

    /// <summary>Where the current attempt goes: its prefix and the request Uris already built for it.</summary>
    public DestinationUris? Destination { get; set; }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        proxyRequest.RequestUri = Destination?.For(httpContext.Request);
        var host = httpContext.Request.Headers.Host;
        if (host.Count == 1)
            proxyRequest.Headers.Host = host.ToString();
        telemetry.InjectTraceContext(proxyRequest);
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null && ShouldRetry(new RetryFacts(Attempt, Replayable, Status: (int)proxyResponse.StatusCode)))
        {
            // Its status and headers are not copied: the next attempt answers instead.
            Withheld = true;
            return new ValueTask<bool>(false);
        }
        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    private sealed class Policy(RetryBudget budget, ISidecarTelemetry telemetry) : IPooledObjectPolicy<OutboundRequest>
    {
        public OutboundRequest Create() => new(budget, telemetry);

        /// <summary>Forgets the request it served (nothing of it may outlive the request).</summary>
        public bool Return(OutboundRequest request)
        {
            request.Context = null!;
            request.Route = null!;
            request.Replayable = false;
            request.Attempt = 0;
            request._firstTried = null;
            request._moreTried?.Clear();
            request.LastCluster = null;
            request.Withheld = false;
            request.FirstAttemptPending = false;
            request.Destination = null;
            return true;
        }
    }
}
