// A route document: the same schema inline in sidecar.yaml (`routes:`) and in the registry
// (`/config/routes/{name}`). Fields left null take the sidecar's `defaults:`.
using Mesh.Sidecar.RateLimiting;

namespace Mesh.Sidecar.Configuration;

public sealed record RouteConfig
{
    public string Name { get; init; } = "";
    public RouteMatchConfig Match { get; init; } = new();
    /// <summary>The destination service; with <see cref="Split"/>, the default service of each entry.</summary>
    public string? Service { get; init; }
    /// <summary>Weighted split across versions (or services); empty: all of <see cref="Service"/>.</summary>
    public IReadOnlyList<SplitConfig> Split { get; init; } = [];
    public TimeSpan? Timeout { get; init; }
    public RetryConfig? Retries { get; init; }
    public string? LoadBalancing { get; init; }
    public OutlierDetectionConfig? OutlierDetection { get; init; }
    /// <summary>Enforced by the rate-limiting stage (RateLimiting/) after the route matches.</summary>
    public RateLimitOptions? RateLimit { get; init; }
}

public sealed record RouteMatchConfig
{
    /// <summary>Service names, host names (port ignored) or authorities (host:port, exact). Empty: any host.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
    /// <summary>Segment-aware prefix: "/api" matches "/api" and "/api/x", not "/apix".</summary>
    public string? PathPrefix { get; init; }
    /// <summary>Empty: any method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];
    public IReadOnlyList<HeaderMatchConfig> Headers { get; init; } = [];
}

public enum HeaderMatchMode
{
    Exact,
    Prefix,
    Present,
}

public sealed record HeaderMatchConfig
{
    public string Name { get; init; } = "";
    public HeaderMatchMode Mode { get; init; } = HeaderMatchMode.Exact;
    public string Value { get; init; } = "";
}

public sealed record SplitConfig
{
    public string Service { get; init; } = "";
    /// <summary>The instances' `version` field; null: every version of the service.</summary>
    public string? Version { get; init; }
    public int Weight { get; init; }
}

public sealed record RetryConfig
{
    /// <summary>Total tries including the first; 1 disables retries.</summary>
    public int Attempts { get; init; } = 3;
    public IReadOnlyList<int> RetryOnStatusCodes { get; init; } = [502, 503, 504];
    public bool RetryOnConnectFailure { get; init; } = true;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(10);
}

public sealed record OutlierDetectionConfig
{
    /// <summary>0 disables ejection.</summary>
    public int ConsecutiveFailures { get; init; } = 5;
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);
    public int MaxEjectionPercent { get; init; } = 50;
}
