// A route ready for the request path: matchers normalized, defaults applied, backends bound to
// their ClusterState, the load-balancing policy and the resilience pipeline resolved. Immutable.
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.RateLimiting;
using Microsoft.AspNetCore.Http;
using Polly;

namespace Mesh.Sidecar.Outbound.Routing;

internal sealed class CompiledRoute
{
    private readonly string? _pathPrefix;
    private readonly string[] _methods;
    private readonly HeaderMatchConfig[] _headers;
    private readonly long[] _cumulativeBackendWeights;

    public CompiledRoute(
        RouteConfig config,
        bool isImplicit,
        RouteBackend[] backends,
        TimeSpan timeout,
        RetryConfig retries,
        OutlierDetectionConfig outlierDetection,
        ILoadBalancingPolicy policy,
        ResiliencePipeline<AttemptResult> pipeline)
    {
        Config = config;
        IsImplicit = isImplicit;
        Backends = backends;
        Timeout = timeout;
        Retries = retries;
        Retry = new RetryPolicy(retries);
        OutlierDetection = outlierDetection;
        Policy = policy;
        Pipeline = pipeline;
        // "/api/" and "/api" both mean the segment "/api"; "/" means everything.
        _pathPrefix = config.Match.PathPrefix is null or "/" ? null : config.Match.PathPrefix.TrimEnd('/');
        _methods = [.. config.Match.Methods.Select(m => HttpMethods.GetCanonicalizedValue(m))];
        _headers = [.. config.Match.Headers];
        _cumulativeBackendWeights = new long[backends.Length];
        long total = 0;
        for (var i = 0; i < backends.Length; i++)
        {
            total += backends[i].Weight;
            _cumulativeBackendWeights[i] = total;
        }
    }

    public RouteConfig Config { get; }

    public string Name => Config.Name;

    /// <summary>A route the table made up for a host that names a known service.</summary>
    public bool IsImplicit { get; }

    public RouteBackend[] Backends { get; }

    public TimeSpan Timeout { get; }

    public RetryConfig Retries { get; }

    /// <summary>Whether an attempt of this route is tried again (compiled from <see cref="Retries"/>).</summary>
    public RetryPolicy Retry { get; }

    public OutlierDetectionConfig OutlierDetection { get; }

    public ILoadBalancingPolicy Policy { get; }

    public ResiliencePipeline<AttemptResult> Pipeline { get; }

    /// <summary>The route's timeout, as the token its requests' attempts run under.</summary>
    public required RouteDeadline Deadline { get; init; }

    /// <summary>The rate limits this route's requests pass (its own, then its services'); null: none.</summary>
    public RateLimitStage? RateLimits { get; init; }

    public bool Matches(string path, string method, IHeaderDictionary headers)
    {
        if (_pathPrefix is not null && !PathMatches(path, _pathPrefix))
            return false;
        if (_methods.Length > 0 && !MethodMatches(method))
            return false;
        for (var i = 0; i < _headers.Length; i++)
        {
            if (!HeaderMatches(_headers[i], headers))
                return false;
        }
        return true;
    }

    /// <summary>The index of the backend chosen by split weight; <paramref name="point"/> is in [0, total weight).</summary>
    public int BackendIndexAtWeight(long point)
    {
        var weights = _cumulativeBackendWeights;
        for (var i = 0; i < weights.Length; i++)
        {
            if (point < weights[i])
                return i;
        }
        return weights.Length - 1;
    }

    public long TotalBackendWeight => _cumulativeBackendWeights.Length == 0 ? 0 : _cumulativeBackendWeights[^1];

    private static bool PathMatches(string path, string prefix) =>
        path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
        && (path.Length == prefix.Length || path[prefix.Length] == '/');

    private bool MethodMatches(string method)
    {
        foreach (var allowed in _methods)
        {
            // Kestrel hands out the same interned strings GetCanonicalizedValue returns.
            if (ReferenceEquals(allowed, method) || string.Equals(allowed, method, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static bool HeaderMatches(HeaderMatchConfig match, IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(match.Name, out var values) || values.Count == 0)
            return false;
        if (match.Mode == HeaderMatchMode.Present)
            return true;
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (value is null)
                continue;
            if (match.Mode == HeaderMatchMode.Exact ? string.Equals(value, match.Value, StringComparison.Ordinal) : value.StartsWith(match.Value, StringComparison.Ordinal))
                return true;
        }
        return false;
    }
}

/// <summary>One destination of a route: a service, optionally one version of it, with a split weight.</summary>
internal sealed record RouteBackend(string Service, string? Version, int Weight, ClusterState Cluster);
