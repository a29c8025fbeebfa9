// The bootstrap configuration of one sidecar (`sidecar.yaml`), as immutable records.
// Produced only by SidecarConfigLoader, which validates everything and reports every problem at
// once; the records themselves hold already-defaulted, valid values.
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.RateLimiting;

namespace Mesh.Sidecar.Configuration;

public sealed record SidecarConfig
{
    /// <summary>The file the configuration was read from, for messages; null when built in code.</summary>
    public string? SourcePath { get; init; }
    public ServiceIdentityConfig Service { get; init; } = new();
    public AppConfig App { get; init; } = new();
    public RegistryConfig Registry { get; init; } = new();
    public ListenersConfig Listeners { get; init; } = new();
    public UpstreamConfig Upstream { get; init; } = new();
    public LimitsConfig Limits { get; init; } = new();
    public RouteDefaults Defaults { get; init; } = new();
    /// <summary>How long a stopping sidecar keeps serving after announcing that it drains.</summary>
    public TimeSpan DrainTime { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Static endpoints per service (dev and tests); the registry adds more later.</summary>
    public IReadOnlyList<ServiceEndpoints> Endpoints { get; init; } = [];
    /// <summary>Inline route documents; the registry adds more under /config/routes.</summary>
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
    /// <summary>The inbound rate-limit policy and client-side limits per destination service.</summary>
    public RateLimitsConfig RateLimits { get; init; } = new();
    /// <summary>mTLS between sidecars (`tls:`); off by default.</summary>
    public TlsConfig Tls { get; init; } = new();
    /// <summary>Inline authorization policies (`authorization:`); the registry adds more under /config/policies.</summary>
    public IReadOnlyList<Mesh.Sidecar.Configuration.AuthorizationPolicy> Authorization { get; init; } = [];
    /// <summary>Metrics, tracing and access logs (`telemetry:`).</summary>
    public TelemetryConfig Telemetry { get; init; } = new();
    /// <summary>Transparent interception on the outbound listener (`interception:`).</summary>
    public InterceptionConfig Interception { get; init; } = new();
    /// <summary>The app's kubelet probes the admin listener serves at /app-health/{name} (`appProbes:`).</summary>
    public IReadOnlyDictionary<string, AppProbeConfig> AppProbes { get; init; } = new Dictionary<string, AppProbeConfig>();
}

/// <summary>Who this sidecar speaks for: what it registers as an instance.</summary>
public sealed record ServiceIdentityConfig
{
    public string Name { get; init; } = "";
    /// <summary>The namespace of the service's identity (its SPIFFE id and join-token scope).</summary>
    public string Namespace { get; init; } = "default";
    /// <summary>This instance's id under /services/{name}/instances; null: host name and inbound port.</summary>
    public string? InstanceId { get; init; }
    /// <summary>The address other sidecars reach this one's inbound listener at; null: $MESH_POD_IP, else 127.0.0.1.</summary>
    public string? Address { get; init; }
    public string Version { get; init; } = "v1";
    public int Weight { get; init; } = 100;
    public string Zone { get; init; } = "";
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

/// <summary>The local application behind the inbound listener.</summary>
public sealed record AppConfig
{
    public string Address { get; init; } = "http://127.0.0.1:8080";
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;
    /// <summary>When set, the instance is registered only once GET {address}{healthPath} answers 2xx.</summary>
    public string? HealthPath { get; init; }
}

public sealed record RegistryConfig
{
    public IReadOnlyList<string> Addresses { get; init; } = [];
    /// <summary>TTL of the sidecar's registry session: how long its instance outlives a crash.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>PEM roots the registry's TLS certificate chains to (https addresses); null = the system's roots.</summary>
    public string? CaFile { get; init; }
    /// <summary>
    /// Bearer token for a registry that requires one. Null: $MESH_REGISTRY_TOKEN, else the join
    /// token when tls is on (a join token lets a sidecar read and register its own service).
    /// </summary>
    public string? Token { get; init; }
}

public sealed record ListenersConfig
{
    public ListenerConfig Outbound { get; init; } = new() { Address = "127.0.0.1", Port = 15001 };
    public ListenerConfig Inbound { get; init; } = new() { Address = "0.0.0.0", Port = 15006 };
    public ListenerConfig Admin { get; init; } = new() { Address = "127.0.0.1", Port = 15000 };
}

public sealed record ListenerConfig
{
    public string Address { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; }
    public ListenerProtocols Protocols { get; init; } = ListenerProtocols.Http1AndHttp2;
}

public enum ListenerProtocols
{
    /// <summary>
    /// HTTP/1.1, and HTTP/2 where TLS negotiates it; on the outbound and a plaintext or permissive
    /// inbound listener also h2c (HTTP/2 prior knowledge, as gRPC clients speak), told apart by the
    /// connection's first bytes.
    /// </summary>
    Http1AndHttp2,
    Http1,
    /// <summary>HTTP/2 only, prior knowledge over plaintext (h2c); what gRPC clients and other sidecars speak.</summary>
    H2c,
}

public enum UpstreamProtocol
{
    Http1,
    /// <summary>HTTP/2 with prior knowledge; the peer listener must be h2c.</summary>
    Http2,
}

/// <summary>How this sidecar talks to remote endpoints (other sidecars' inbound listeners).</summary>
public sealed record UpstreamConfig
{
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan PooledConnectionIdleTimeout { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>Kestrel limits for every listener, set deliberately (see docs/configuration.md, "Limits").</summary>
public sealed record LimitsConfig
{
    public int MaxRequestHeadersTotalSize { get; init; } = 32 * 1024;
    public int MaxRequestHeaderCount { get; init; } = 100;
    /// <summary>Null: no limit (streaming uploads pass through).</summary>
    public long? MaxRequestBodySize { get; init; } = 30L * 1024 * 1024;
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);
    public int MaxConcurrentConnections { get; init; } = 10_000;
    /// <summary>
    /// HTTP/2 streams one connection carries at a time (Kestrel's default). A calling sidecar opens
    /// another connection to this one only when its connections are full, so this also sets how
    /// many connections a busy caller uses (see docs/benchmarks.md, "Connections between sidecars").
    /// </summary>
    public int MaxStreamsPerConnection { get; init; } = 100;
    /// <summary>A request body slower than this (after the grace period) closes the connection; null: off.</summary>
    public long? MinRequestBodyBytesPerSecond { get; init; } = 240;
    /// <summary>How long a body may stay under the minimum rate before it counts; Kestrel needs more than 1 s.</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Values a route gets for every field it leaves out.</summary>
public sealed record RouteDefaults
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
    public RetryConfig Retries { get; init; } = new();
    public string LoadBalancing { get; init; } = "WeightedRandom";
    public OutlierDetectionConfig OutlierDetection { get; init; } = new();
    public RetryBudgetConfig RetryBudget { get; init; } = new();
}

public sealed record RetryBudgetConfig
{
    /// <summary>Retries allowed as a fraction of requests over the window.</summary>
    public double Ratio { get; init; } = 0.2;
    /// <summary>Retries always allowed per second, so a quiet service can still retry.</summary>
    public int MinRetriesPerSecond { get; init; } = 10;
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);
}
