// What one rate limit is: the limiter kind and its numbers, how requests are partitioned into
// keys, the queue bound and whether the numbers are for the whole service (mesh-wide, split
// among its live sidecars). Immutable; Validate() names every bad field, and the strategy refuses
// invalid options when it is built, not on the first request.
namespace Mesh.Sidecar.Configuration;

public enum RateLimitKind
{
    /// <summary>Refills <c>requestsPerSecond</c> continuously up to <c>burst</c>.</summary>
    TokenBucket,
    /// <summary><c>limit</c> requests per <c>window</c>, the count resetting at each window's end.</summary>
    FixedWindow,
    /// <summary><c>limit</c> requests over the last <c>window</c>, tracked in <c>segmentsPerWindow</c> segments.</summary>
    SlidingWindow,
    /// <summary>At most <c>limit</c> requests in flight.</summary>
    Concurrency,
}

public enum RateLimitKeyKind
{
    /// <summary>One limiter for the whole route (no partition lookup).</summary>
    Route,
    /// <summary>The caller's mesh identity: client certificate SPIFFE id, else <c>x-mesh-caller</c>, else "anonymous".</summary>
    Caller,
    ClientIp,
    /// <summary>The value of the header named by <see cref="RateLimitOptions.KeyHeader"/> (missing: one shared partition).</summary>
    Header,
}

public sealed record RateLimitOptions
{
    public const int DefaultMaxPartitions = 10_000;
    public const int DefaultSegmentsPerWindow = 10;

    /// <summary>Names the policy in headers and metrics; a route limit takes its route's name.</summary>
    public string Name { get; init; } = "";
    public RateLimitKind Kind { get; init; } = RateLimitKind.TokenBucket;
    /// <summary>Token bucket: tokens added per second.</summary>
    public int RequestsPerSecond { get; init; }
    /// <summary>Token bucket: bucket size; 0 means <see cref="RequestsPerSecond"/>.</summary>
    public int Burst { get; init; }
    /// <summary>Windows: requests per window; concurrency: requests in flight.</summary>
    public int Limit { get; init; }
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);
    public int SegmentsPerWindow { get; init; } = DefaultSegmentsPerWindow;
    public RateLimitKeyKind Key { get; init; } = RateLimitKeyKind.Route;
    /// <summary>The header whose value is the key, for <see cref="RateLimitKeyKind.Header"/>.</summary>
    public string? KeyHeader { get; init; }
    /// <summary>Requests that may wait for a permit; 0 rejects at once.</summary>
    public int QueueLimit { get; init; }
    /// <summary>Bound on the keys kept; least recently used partitions are evicted above it.</summary>
    public int MaxPartitions { get; init; } = DefaultMaxPartitions;
    /// <summary>The numbers are for all live instances of the service together, split by weight.</summary>
    public bool MeshWide { get; init; }

    public int EffectiveBurst => Burst > 0 ? Burst : RequestsPerSecond;

    /// <summary>Every problem, as (field, message); empty when the options are usable.</summary>
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (QueueLimit < 0)
            yield return ("queue", "must be >= 0");
        if (MaxPartitions < 1)
            yield return ("maxPartitions", "must be > 0");
        if (Key == RateLimitKeyKind.Header && string.IsNullOrWhiteSpace(KeyHeader))
            yield return ("key", "header: needs a header name, e.g. header:x-api-key");
        var isWindow = Kind is RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow;
        if (Kind == RateLimitKind.TokenBucket)
        {
            if (RequestsPerSecond <= 0)
                yield return ("requestsPerSecond", "must be > 0 (required for kind tokenBucket)");
            if (Burst < 0)
                yield return ("burst", "must be > 0");
            if (Limit != 0)
                yield return ("limit", "applies to fixedWindow, slidingWindow and concurrency; tokenBucket uses requestsPerSecond and burst");
        }
        else
        {
            if (Limit <= 0)
                yield return ("limit", $"must be > 0 (required for kind {RateLimitKinds.NameOf(Kind)})");
            if (RequestsPerSecond != 0)
                yield return ("requestsPerSecond", "applies to kind tokenBucket only");
            if (Burst != 0)
                yield return ("burst", "applies to kind tokenBucket only");
        }
        if (isWindow && Window <= TimeSpan.Zero)
            yield return ("window", "must be > 0");
        if (Kind == RateLimitKind.SlidingWindow)
        {
            if (SegmentsPerWindow < 1)
                yield return ("segmentsPerWindow", "must be > 0");
            else if (Window > TimeSpan.Zero && Window / SegmentsPerWindow < TimeSpan.FromMilliseconds(1))
                yield return ("segmentsPerWindow", "makes segments shorter than 1ms");
        }
    }
}

/// <summary>Names used in configuration, headers and metrics.</summary>
internal static class RateLimitKinds
{
    public static readonly (string Name, RateLimitKind Value)[] All =
    [
        ("tokenBucket", RateLimitKind.TokenBucket),
        ("fixedWindow", RateLimitKind.FixedWindow),
        ("slidingWindow", RateLimitKind.SlidingWindow),
        ("concurrency", RateLimitKind.Concurrency),
    ];

    public static string NameOf(RateLimitKind kind) => All.First(k => k.Value == kind).Name;

    /// <summary>Parses <c>route</c>, <c>caller</c>, <c>clientIp</c> or <c>header:NAME</c>.</summary>
    public static bool TryParseKey(string text, out RateLimitKeyKind kind, out string? header)
    {
        header = null;
        kind = RateLimitKeyKind.Route;
        text = text.Trim();
        if (text.StartsWith("header:", StringComparison.OrdinalIgnoreCase))
        {
            kind = RateLimitKeyKind.Header;
            header = text["header:".Length..].Trim();
            return true;
        }
        switch (text.ToLowerInvariant())
        {
            case "route":
                return true;
            case "caller":
                kind = RateLimitKeyKind.Caller;
                return true;
            case "clientip":
                kind = RateLimitKeyKind.ClientIp;
                return true;
            default:
                return false;
        }
    }

    public static string KeyName(RateLimitOptions options) => options.Key switch
    {
        RateLimitKeyKind.Caller => "caller",
        RateLimitKeyKind.ClientIp => "clientIp",
        RateLimitKeyKind.Header => "header:" + options.KeyHeader,
        _ => "route",
    };
}

/// <summary>The sidecar's `rateLimits:` section: the inbound policy and client-side limits per destination.</summary>
public sealed record RateLimitsConfig
{
    /// <summary>Checked in order on the inbound listener; every limit whose match fits applies.</summary>
    public IReadOnlyList<InboundRateLimitConfig> Inbound { get; init; } = [];
    /// <summary>Client-side limits per destination service (outbound), protecting upstreams.</summary>
    public IReadOnlyDictionary<string, RateLimitOptions> Outbound { get; init; } = new Dictionary<string, RateLimitOptions>();
}

/// <summary>One limit of the inbound policy, with an optional request match.</summary>
public sealed record InboundRateLimitConfig
{
    public required RateLimitOptions Limit { get; init; }
    /// <summary>Segment-aware, case-insensitive; null: every path.</summary>
    public string? PathPrefix { get; init; }
    /// <summary>Empty: every method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];
}
