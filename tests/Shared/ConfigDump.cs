using System.Text.Json;

namespace Mesh.Testing;

/// <summary>
/// The sidecar's admin <c>/config_dump</c> read into records, so a test says
/// <c>dump.Cluster("catalog").Endpoint("c1").Health</c> instead of walking JSON by hand. The parts
/// whose shape varies with the configuration (rate limits) stay <see cref="JsonElement"/>.
/// </summary>
internal sealed record ConfigDump(
    ConfigDumpService Service,
    bool Ready,
    bool Draining,
    long RoutesIndex,
    IReadOnlyDictionary<string, string> RouteErrors,
    ConfigDumpTls Tls,
    JsonElement RateLimits,
    IReadOnlyList<ConfigDumpRoute> Routes,
    IReadOnlyList<ConfigDumpCluster> Clusters)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>GET <c>/config_dump</c> on the admin listener at <paramref name="adminUrl"/>.</summary>
    public static async Task<ConfigDump> ReadAsync(Uri adminUrl)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        return Parse(await http.GetStringAsync(new Uri(adminUrl, "/config_dump")));
    }

    public static ConfigDump Parse(string json) =>
        JsonSerializer.Deserialize<ConfigDump>(json, Json) ?? throw new JsonException("/config_dump was null");

    /// <summary>The cluster of <paramref name="service"/>; fails the test when there is none.</summary>
    public ConfigDumpCluster Cluster(string service) =>
        Clusters.SingleOrDefault(c => c.Service == service) ?? throw new Xunit.Sdk.XunitException(
            $"no cluster '{service}' in /config_dump (clusters: {string.Join(", ", Clusters.Select(c => c.Service))})");

    /// <summary>The route named <paramref name="name"/>; fails the test when there is none.</summary>
    public ConfigDumpRoute Route(string name) =>
        Routes.SingleOrDefault(r => r.Name == name) ?? throw new Xunit.Sdk.XunitException(
            $"no route '{name}' in /config_dump (routes: {string.Join(", ", Routes.Select(r => r.Name))})");
}

internal sealed record ConfigDumpService(string Name, string Version, int Weight, string Zone);

/// <summary><c>tls</c>: only <see cref="Mode"/> when mTLS is off.</summary>
internal sealed record ConfigDumpTls(
    string Mode,
    string? Identity = null,
    string? TrustDomain = null,
    DateTimeOffset? CertificateExpiresAt = null,
    double? CertificateExpiresInSeconds = null,
    int? CertificateRotations = null,
    int? TrustedRoots = null,
    ConfigDumpInboundRequests? InboundRequests = null,
    bool? AuthorizationPolicy = null,
    long? PeerIdentityMismatches = null);

internal sealed record ConfigDumpInboundRequests(long Tls13, long OtherTls, long Plaintext, long Http2);

internal sealed record ConfigDumpRoute(
    string Name,
    bool Implicit,
    ConfigDumpMatch Match,
    IReadOnlyList<ConfigDumpBackend> Backends,
    double TimeoutMs,
    ConfigDumpRetries Retries,
    string LoadBalancing,
    ConfigDumpOutlierDetection OutlierDetection,
    JsonElement? RateLimit = null);

internal sealed record ConfigDumpMatch(IReadOnlyList<string> Hosts, string PathPrefix, IReadOnlyList<string> Methods, IReadOnlyList<ConfigDumpHeaderMatch> Headers);

internal sealed record ConfigDumpHeaderMatch(string Name, string Mode, string Value);

internal sealed record ConfigDumpBackend(string Service, string Version, int Weight);

internal sealed record ConfigDumpRetries(int Attempts, bool RetryOnConnectFailure, IReadOnlyList<int> RetryOnStatusCodes);

internal sealed record ConfigDumpOutlierDetection(int ConsecutiveFailures, double BaseEjectionTimeMs, double MaxEjectionTimeMs, double MaxEjectionPercent);

internal sealed record ConfigDumpCluster(string Service, long Index, bool Known, int Healthy, IReadOnlyList<ConfigDumpEndpoint> Endpoints)
{
    /// <summary>The endpoint with instance id <paramref name="id"/>; fails the test when there is none.</summary>
    public ConfigDumpEndpoint Endpoint(string id) =>
        Endpoints.SingleOrDefault(e => e.Id == id) ?? throw new Xunit.Sdk.XunitException(
            $"no endpoint '{id}' in cluster '{Service}' (endpoints: {string.Join(", ", Endpoints.Select(e => e.Id))})");
}

internal sealed record ConfigDumpEndpoint(
    string Id,
    string Address,
    int Port,
    int Weight,
    string Version,
    string Zone,
    IReadOnlyDictionary<string, string> Labels,
    string Health,
    double? EjectedForMs,
    long Ejections,
    int ConsecutiveFailures,
    int ActiveRequests,
    long Requests,
    long Failures);
