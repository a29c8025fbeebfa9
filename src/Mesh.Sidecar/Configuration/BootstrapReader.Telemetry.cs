// The `telemetry:` section: metrics { enabled, cardinalityLimit }, tracing { otlpEndpoint, sampleRatio },
// accessLog { enabled, path | stdout, bufferSize, flushInterval }.
namespace Mesh.Sidecar.Configuration;

internal sealed partial class BootstrapReader
{
    private TelemetryConfig ReadTelemetry(MapReader? map)
    {
        var defaults = new TelemetryConfig();
        if (map is null)
            return defaults;
        var telemetry = new TelemetryConfig
        {
            Metrics = ReadMetrics(map.Map("metrics")) ?? defaults.Metrics,
            Tracing = ReadTracing(map.Map("tracing")) ?? defaults.Tracing,
            AccessLog = ReadAccessLog(map.Map("accessLog")) ?? defaults.AccessLog,
        };
        map.ReportUnknownFields();
        return telemetry;
    }

    private static MetricsConfig? ReadMetrics(MapReader? map)
    {
        if (map is null)
            return null;
        var metrics = new MetricsConfig
        {
            Enabled = map.Bool("enabled") ?? true,
            CardinalityLimit = map.Int("cardinalityLimit", min: 1, max: 100_000) ?? MetricsConfig.DefaultCardinalityLimit,
        };
        map.ReportUnknownFields();
        return metrics;
    }

    private TracingConfig? ReadTracing(MapReader? map)
    {
        if (map is null)
            return null;
        Uri? endpoint = null;
        if (map.String("otlpEndpoint") is { } text)
        {
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                endpoint = uri;
            else
                reader.Error(map.Get("otlpEndpoint")!, map.Child("otlpEndpoint"), $"must be an absolute http:// or https:// URL, not '{text}'");
        }
        var tracing = new TracingConfig
        {
            OtlpEndpoint = endpoint,
            SampleRatio = reader.Double(map.Get("sampleRatio"), map.Child("sampleRatio"), 0, 1) ?? new TracingConfig().SampleRatio,
        };
        map.ReportUnknownFields();
        return tracing;
    }

    private AccessLogConfig? ReadAccessLog(MapReader? map)
    {
        if (map is null)
            return null;
        var path = map.String("path");
        var stdout = map.Bool("stdout");
        if (path is not null && stdout == true)
            reader.Error(map.Get("stdout")!, map.Child("stdout"), "give either path or stdout: true, not both");
        else if (path is { Length: 0 })
            reader.Error(map.Get("path")!, map.Child("path"), "must not be empty");
        var log = new AccessLogConfig
        {
            Enabled = map.Bool("enabled") ?? false,
            Path = stdout == true ? null : path,
            BufferSize = map.Int("bufferSize", min: 16, max: 1_000_000) ?? new AccessLogConfig().BufferSize,
            FlushInterval = map.Duration("flushInterval") ?? new AccessLogConfig().FlushInterval,
        };
        map.ReportUnknownFields();
        return log;
    }
}
