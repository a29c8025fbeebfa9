// The `telemetry:` section of sidecar.yaml: Prometheus metrics on the admin port (on by default),
// OTLP trace export and structured access logs (both off by default).
namespace Mesh.Sidecar.Configuration;

public sealed record TelemetryConfig
{
    public MetricsConfig Metrics { get; init; } = new();
    public TracingConfig Tracing { get; init; } = new();
    public AccessLogConfig AccessLog { get; init; } = new();
}

public sealed record MetricsConfig
{
    /// <summary>Serve /metrics on the admin listener and record request metrics.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Series (label combinations) each request duration histogram keeps; requests beyond go to
    /// one series labeled otel_metric_overflow="true". Mesh's other route- and service-labeled
    /// metrics keep a quarter of it (see Telemetry/MetricSeriesLimits).
    /// </summary>
    public int CardinalityLimit { get; init; } = DefaultCardinalityLimit;

    /// <summary>OpenTelemetry's own default: room for a sidecar with hundreds of routes.</summary>
    public const int DefaultCardinalityLimit = 2000;
}

public sealed record TracingConfig
{
    /// <summary>OTLP collector; null turns tracing off. A path ending in /v1/traces selects OTLP/HTTP, otherwise gRPC.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Share of new traces sampled (parent-based: a caller's decision is kept).</summary>
    public double SampleRatio { get; init; } = 1.0;

    public bool Enabled => OtlpEndpoint is not null;
}

public sealed record AccessLogConfig
{
    public bool Enabled { get; init; }

    /// <summary>File to append JSON lines to; null writes to standard output.</summary>
    public string? Path { get; init; }

    /// <summary>Lines waiting to be written; when full, lines are dropped and counted.</summary>
    public int BufferSize { get; init; } = 8192;

    /// <summary>
    /// How long a line may wait before the writer wakes to write it with every line that came
    /// after it (sooner when half the buffer is full, and on stop): one wake-up and one write per
    /// batch instead of per request.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}
