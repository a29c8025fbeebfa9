// One request going out through the outbound listener, across its attempts. It is also the YARP
// transformer for those attempts: it keeps the caller's Host header (the remote sidecar and app
// see the logical service name) and withholds a retryable response so the pipeline can retry.
using Mesh.Sidecar.LoadBalancing;
using Mesh.Sidecar.Routing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Outbound;

internal sealed class OutboundRequest(OutboundHandler handler, HttpContext context, CompiledRoute route, bool canRetry) : HttpTransformer
{
    public HttpContext Context { get; } = context;

    public CompiledRoute Route { get; } = route;

    public OutboundHandler Handler { get; } = handler;

    /// <summary>Idempotent method and no request body: safe to send again.</summary>
    public bool CanRetry { get; } = canRetry;

    public int Attempt { get; set; }

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

    public bool HasAttemptsLeft => CanRetry && Attempt < Route.Retries.Attempts;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var host = httpContext.Request.Headers.Host;
        if (host.Count == 1)
            proxyRequest.Headers.Host = host.ToString();
        Handler.Telemetry.InjectTraceContext(proxyRequest);
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null
            && HasAttemptsLeft
            && Route.RetriesOn((int)proxyResponse.StatusCode)
            && Handler.TryRetry(this))
        {
            Withheld = true;
            return new ValueTask<bool>(false);
        }
        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }
}
