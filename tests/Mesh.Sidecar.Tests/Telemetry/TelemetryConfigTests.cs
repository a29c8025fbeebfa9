using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Telemetry;

public sealed class TelemetryConfigTests
{
    [Fact]
    public void Parse_NoTelemetrySection_MetricsOnTracingAndAccessLogOff()
    {
        var config = SidecarConfigLoader.Parse("service: { name: a }\n");

        Assert.True(config.Telemetry.Metrics.Enabled);
        Assert.Equal(2000, config.Telemetry.Metrics.CardinalityLimit);
        Assert.False(config.Telemetry.Tracing.Enabled);
        Assert.False(config.Telemetry.AccessLog.Enabled);
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.Telemetry.AccessLog.FlushInterval);
    }

    [Fact]
    public void Parse_FullTelemetrySection_ReadsEveryField()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: a }
            telemetry:
              metrics: { enabled: false, cardinalityLimit: 5000 }
              tracing: { otlpEndpoint: "http://127.0.0.1:4317", sampleRatio: 0.25 }
              accessLog: { enabled: true, path: /var/log/mesh/access.log, bufferSize: 1024, flushInterval: 1s }
            """);

        Assert.False(config.Telemetry.Metrics.Enabled);
        Assert.Equal(5000, config.Telemetry.Metrics.CardinalityLimit);
        Assert.Equal(new Uri("http://127.0.0.1:4317"), config.Telemetry.Tracing.OtlpEndpoint);
        Assert.Equal(0.25, config.Telemetry.Tracing.SampleRatio);
        Assert.True(config.Telemetry.AccessLog.Enabled);
        Assert.Equal("/var/log/mesh/access.log", config.Telemetry.AccessLog.Path);
        Assert.Equal(1024, config.Telemetry.AccessLog.BufferSize);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Telemetry.AccessLog.FlushInterval);
    }

    [Fact]
    public void Parse_AccessLogToStdout_HasNoPath()
    {
        var config = SidecarConfigLoader.Parse("service: { name: a }\ntelemetry:\n  accessLog: { enabled: true, stdout: true }\n");

        Assert.True(config.Telemetry.AccessLog.Enabled);
        Assert.Null(config.Telemetry.AccessLog.Path);
    }

    [Fact]
    public void Parse_BadTelemetryValues_ReportsEveryErrorWithLineAndPath()
    {
        var yaml = """
            service: { name: a }
            telemetry:
              metrics: { enabled: maybe, cardinalityLimit: 0 }
              tracing:
                otlpEndpoint: "collector:4317"
                sampleRatio: 2
              accessLog: { enabled: true, path: /tmp/x.log, stdout: true, flushInterval: 0s }
              traces: {}
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));

        var messages = error.Errors.Select(e => $"{e.Line}: {e.Path}: {e.Message}").ToList();
        Assert.Contains(messages, m => m.StartsWith("3: telemetry.metrics.enabled: must be true or false", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("3: telemetry.metrics.cardinalityLimit: must be", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("5: telemetry.tracing.otlpEndpoint: must be an absolute http", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("6: telemetry.tracing.sampleRatio: must be a number between 0 and 1", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("7: telemetry.accessLog.stdout: give either path or stdout", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("7: telemetry.accessLog.flushInterval: must be > 0", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("8: telemetry.traces: unknown field", StringComparison.Ordinal));
        Assert.Equal(7, messages.Count);
    }
}
