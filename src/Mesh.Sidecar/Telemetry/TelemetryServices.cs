// Wires the OpenTelemetry SDK for a sidecar: the meters it exports on the admin port's /metrics
// (its own, security, rate limiting and Kestrel's connection meter, each from this host's IMeterFactory) and, when configured, OTLP
// trace export (see SpanExport). The request path never sees this; it only reports to ISidecarTelemetry.
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mesh.Sidecar.Telemetry;

internal static class TelemetryServices
{
    public const string RateLimitingMeterName = "Mesh.Sidecar.RateLimiting";
    public const string KestrelMeterName = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>The runtime's own meter (GC, allocations, thread pool, JIT): one per process, not per host.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>Every meter a sidecar's /metrics exports.</summary>
    public static readonly string[] ExportedMeters = [SidecarMetrics.MeterName, SecurityMetrics.MeterName, RateLimitingMeterName, KestrelMeterName];

    public static void AddSidecarTelemetry(this IServiceCollection services, SidecarConfig config, SidecarTracing tracing)
    {
        var telemetry = config.Telemetry;
        if (!telemetry.Metrics.Enabled && !telemetry.Tracing.Enabled)
            return;
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(config.Service.Name, serviceVersion: config.Service.Version, autoGenerateServiceInstanceId: true));
        if (telemetry.Metrics.Enabled)
        {
            // Not AddMeter: that listens to every meter of the name in the process. These rules take
            // only the meters this host's IMeterFactory created (MeterScope.Local), so several
            // sidecars in one process (tests, the demo) each export only their own numbers.
            var requestSeries = telemetry.Metrics.CardinalityLimit;
            otel.WithMetrics(m => m
                .AddView(instrument => new MetricStreamConfiguration { CardinalityLimit = MetricSeriesLimits.For(instrument, requestSeries) })
                .AddPrometheusExporter());
            services.AddMetrics(metrics =>
            {
                foreach (var meter in ExportedMeters)
                    metrics.EnableMetrics(meter, scopes: MeterScope.Local);
                // Process-wide numbers, the same on every sidecar of one process: what the process
                // costs (bytes allocated, collections, heap size, threads), for operators and the
                // proxy bench's bytes-per-request column. Read at scrape time only.
                metrics.EnableMetrics(RuntimeMeterName, scopes: MeterScope.Global);
            });
        }
        if (telemetry.Tracing.OtlpEndpoint is { } endpoint)
        {
            services.AddSingleton(_ =>
            {
                var exporter = new OtlpTraceExporter(new OtlpExporterOptions
                {
                    Endpoint = endpoint,
                    Protocol = endpoint.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc,
                });
                var processor = new BatchActivityExportProcessor(exporter, scheduledDelayMilliseconds: 1000);
                return new SpanExport(tracing, new ParentBasedSampler(new TraceIdRatioBasedSampler(telemetry.Tracing.SampleRatio)), processor);
            });
            otel.WithTracing(t => t.AddProcessor(sp => sp.GetRequiredService<SpanExport>().Processor));
        }
    }

    /// <summary>The /metrics handler for the admin listener, or null when metrics are off.</summary>
    public static RequestDelegate? MetricsEndpoint(WebApplication app, SidecarConfig config)
    {
        if (!config.Telemetry.Metrics.Enabled)
            return null;
        var branch = ((IApplicationBuilder)app).New();
        branch.UseOpenTelemetryPrometheusScrapingEndpoint();
        branch.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return branch.Build();
    }
}
