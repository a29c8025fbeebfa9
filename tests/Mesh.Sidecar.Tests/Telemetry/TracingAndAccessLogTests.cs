using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Telemetry;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Telemetry;

public sealed class TracingAndAccessLogTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpanId = "00f067aa0ba902b7";

    [Fact]
    public async Task Tracing_AppToSidecarToSidecarToApp_CarriesOneTraceIdAndExportsBothSpans()
    {
        var seen = new ConcurrentQueue<string>();
        await using var appB = await TestApp.StartAsync(context =>
        {
            seen.Enqueue(context.Request.Headers["traceparent"].ToString());
            return context.Response.WriteAsync("b");
        });
        var exported = new ConcurrentQueue<byte[]>();
        await using var collector = await TestApp.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            exported.Enqueue(body.ToArray());
        });
        var tracing = $$"""
            telemetry:
              tracing: { otlpEndpoint: "http://127.0.0.1:{{collector.Port}}/v1/traces", sampleRatio: 1 }
            """;
        var configB = SidecarConfigLoader.Parse($$"""
            service: { name: trace-b }
            app: { address: "{{appB.Url.ToString().TrimEnd('/')}}" }
            {{TestSidecar.Listeners}}
            {{tracing}}
            """);
        var sidecarB = await TestSidecar.StartAsync(configB);
        var configA = SidecarConfigLoader.Parse($$"""
            service: { name: trace-a }
            {{TestSidecar.Listeners}}
            {{tracing}}
            endpoints:
              trace-b:
                - { id: b1, address: 127.0.0.1, port: {{sidecarB.InboundUrl.Port}} }
            """);
        var sidecarA = await TestSidecar.StartAsync(configA);
        using var client = TestSidecar.Client(sidecarA, "trace-b");

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/hello"))
        {
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{CallerSpanId}-01");
            Assert.Equal("b", await (await client.SendAsync(request)).Content.ReadAsStringAsync());
        }
        // Stopping flushes the batch exporters.
        await sidecarA.DisposeAsync();
        await sidecarB.DisposeAsync();

        var traceParent = Assert.Single(seen);
        Assert.Matches($"^00-{TraceId}-[0-9a-f]{{16}}-01$", traceParent);
        Assert.DoesNotContain(CallerSpanId, traceParent, StringComparison.Ordinal);
        // Both sidecars exported spans of that trace (OTLP protobuf carries the 16 raw id bytes).
        var traceBytes = Convert.FromHexString(TraceId);
        Assert.True(exported.Count(body => body.AsSpan().IndexOf(traceBytes) >= 0) >= 2, $"{exported.Count} export(s)");
        Assert.Contains(exported, body => body.AsSpan().IndexOf("trace-a"u8) >= 0 && body.AsSpan().IndexOf("outbound"u8) >= 0);
        Assert.Contains(exported, body => body.AsSpan().IndexOf("trace-b"u8) >= 0 && body.AsSpan().IndexOf("inbound"u8) >= 0);
    }

    [Fact]
    public async Task Tracing_Off_PassesTheCallersTraceparentThroughUnchanged()
    {
        var seen = new ConcurrentQueue<string>();
        await using var app = await TestApp.StartAsync(context =>
        {
            seen.Enqueue(context.Request.Headers["traceparent"].ToString());
            return context.Response.WriteAsync("ok");
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              trace-off:
            {{TestSidecar.Endpoint("a", app)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "trace-off");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{CallerSpanId}-01");

        await client.SendAsync(request);

        Assert.Equal($"00-{TraceId}-{CallerSpanId}-01", Assert.Single(seen));
    }

    [Fact]
    public async Task Tracing_OutboundSpan_CarriesRouteAndEndpointAttributes()
    {
        var spans = new ConcurrentQueue<Activity>();
        // AllData, not recorded: this listener sees every sidecar's spans in the process and must
        // not turn another test's unsampled spans into exported ones.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SidecarTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await TestApp.NamedAsync("ok");
        await using var receiver = await OtlpReceiver.StartAsync();
        var config = TestSidecar.Config($$"""
            telemetry:
              tracing: { otlpEndpoint: "{{receiver.Endpoint}}" }
            endpoints:
              trace-attrs:
            {{TestSidecar.Endpoint("attrs-1", app, "v3")}}
            routes:
              - name: attrs-route
                match: { hosts: [trace-attrs] }
                service: trace-attrs
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "trace-attrs");

        await client.GetStringAsync("/x");

        var span = Assert.Single(spans, s => s.GetTagItem("mesh.route") as string == "attrs-route");
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("trace-attrs", span.GetTagItem("mesh.destination.service"));
        Assert.Equal("attrs-1", span.GetTagItem("mesh.endpoint.id"));
        Assert.Equal(app.Port, span.GetTagItem("server.port"));
        Assert.Equal(200, span.GetTagItem("http.response.status_code"));
    }

    [Fact]
    public async Task AccessLog_OneRequest_WritesOneJsonLineWithEveryField()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-access-{Guid.NewGuid():N}.log");
        try
        {
            await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("hello"));
            var config = TestSidecar.Config($$"""
                telemetry:
                  accessLog: { enabled: true, path: "{{path}}" }
                endpoints:
                  log-svc:
                {{TestSidecar.Endpoint("log-1", app)}}
                routes:
                  - name: log-route
                    match: { hosts: [log-svc] }
                    service: log-svc
                """);
            var sidecar = await TestSidecar.StartAsync(config);
            using var client = TestSidecar.Client(sidecar, "log-svc");
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/items?id=7"))
            {
                request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{CallerSpanId}-01");
                await client.SendAsync(request);
            }
            await sidecar.DisposeAsync();

            var line = Assert.Single(File.ReadAllLines(path));
            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            Assert.True(DateTimeOffset.UtcNow - e.GetProperty("time").GetDateTimeOffset() < TimeSpan.FromMinutes(1));
            Assert.Equal("outbound", e.GetProperty("direction").GetString());
            Assert.Equal("GET", e.GetProperty("method").GetString());
            Assert.Equal("/items", e.GetProperty("path").GetString());
            Assert.Equal("log-route", e.GetProperty("route").GetString());
            Assert.Equal("log-svc", e.GetProperty("service").GetString());
            Assert.Equal($"http://127.0.0.1:{app.Port}", e.GetProperty("upstream").GetString());
            Assert.Equal(200, e.GetProperty("status").GetInt32());
            Assert.True(e.GetProperty("durationMs").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, e.GetProperty("requestBytes").ValueKind);
            Assert.True(e.TryGetProperty("responseBytes", out _));
            Assert.Equal("test", e.GetProperty("caller").GetString());
            Assert.Equal(TraceId, e.GetProperty("traceId").GetString());
            Assert.Equal(0, e.GetProperty("retries").GetInt32());
            Assert.Equal(JsonValueKind.Null, e.GetProperty("error").ValueKind);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task AccessLog_RateLimitedOutboundRequest_IsLoggedWithIts429AndRoute()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-access-{Guid.NewGuid():N}.log");
        try
        {
            await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("hello"));
            var config = TestSidecar.Config($$"""
                telemetry:
                  accessLog: { enabled: true, path: "{{path}}" }
                endpoints:
                  log-limited:
                {{TestSidecar.Endpoint("log-l1", app)}}
                routes:
                  - name: log-limited-route
                    match: { hosts: [log-limited] }
                    service: log-limited
                    rateLimit: { kind: fixedWindow, limit: 1, window: 10m }
                """);
            var sidecar = await TestSidecar.StartAsync(config);
            using var client = TestSidecar.Client(sidecar, "log-limited");
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/first")).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, (await client.GetAsync("/second")).StatusCode);
            await sidecar.DisposeAsync();

            var lines = File.ReadAllLines(path);
            Assert.Equal(2, lines.Length);
            using var json = JsonDocument.Parse(lines.Single(l => l.Contains("/second", StringComparison.Ordinal)));
            Assert.Equal(429, json.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("log-limited-route", json.RootElement.GetProperty("route").GetString());
            Assert.Equal("outbound", json.RootElement.GetProperty("direction").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
