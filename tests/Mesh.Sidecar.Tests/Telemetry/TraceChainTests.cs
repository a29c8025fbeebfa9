using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.Hostile;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Telemetry;

// client → sidecar A (outbound) → sidecar B (inbound) → app, both sidecars exporting to a real
// OTLP/HTTP receiver: what a trace viewer gets, and what the app and the access logs see. The
// sidecars log as in production, so ASP.NET Core makes its own request activity (it does only
// when something logs or listens): the never-exported span that used to sit between hops.
public sealed class TraceChainTests
{
    private const string CallerTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpanId = "00f067aa0ba902b7";

    [Fact]
    public async Task Trace_NoIncomingTraceparent_StartsOneTraceAtTheFirstSidecarWithoutHoles()
    {
        var run = await Chain.RunAsync(sampleRatio: 1, traceParent: null);

        var (traceId, appParent, flags) = run.AppTraceParent();
        Assert.Equal("01", flags);
        var outbound = Assert.Single(run.Spans, s => s.Service == "chain-a");
        var inbound = Assert.Single(run.Spans, s => s.Service == "chain-b");
        Assert.Equal(("outbound", OtlpReceiver.KindClient, ""), (outbound.Name, outbound.Kind, outbound.ParentSpanId));
        Assert.Equal(("inbound", OtlpReceiver.KindServer), (inbound.Name, inbound.Kind));
        Assert.Equal(outbound.SpanId, inbound.ParentSpanId);
        Assert.Equal(inbound.SpanId, appParent);
        Assert.All(run.Spans, s => Assert.Equal(traceId, s.TraceId));
        Assert.Equal((traceId, traceId), run.AccessLogTraceIds());
        run.AssertNoHoles(callerSpanId: null);
    }

    [Fact]
    public async Task Trace_SampledIncomingTraceparent_ChainsFromTheCallersSpanWithoutHoles()
    {
        var run = await Chain.RunAsync(sampleRatio: 1, traceParent: $"00-{CallerTraceId}-{CallerSpanId}-01");

        var (traceId, appParent, flags) = run.AppTraceParent();
        Assert.Equal((CallerTraceId, "01"), (traceId, flags));
        var outbound = Assert.Single(run.Spans, s => s.Service == "chain-a");
        var inbound = Assert.Single(run.Spans, s => s.Service == "chain-b");
        Assert.Equal(CallerSpanId, outbound.ParentSpanId);
        Assert.Equal(outbound.SpanId, inbound.ParentSpanId);
        Assert.Equal(inbound.SpanId, appParent);
        Assert.All(run.Spans, s => Assert.Equal(CallerTraceId, s.TraceId));
        Assert.Equal((CallerTraceId, CallerTraceId), run.AccessLogTraceIds());
        run.AssertNoHoles(CallerSpanId);
    }

    [Fact]
    public async Task Trace_SampledIncomingTraceparentAndRatioZero_KeepsTheCallersDecision()
    {
        var run = await Chain.RunAsync(sampleRatio: 0, traceParent: $"00-{CallerTraceId}-{CallerSpanId}-01");

        Assert.Equal(2, run.Spans.Count);
        Assert.Equal("01", run.AppTraceParent().Flags);
        run.AssertNoHoles(CallerSpanId);
    }

    [Fact]
    public async Task Trace_UnsampledIncomingTraceparent_PropagatesItWithoutExporting()
    {
        var run = await Chain.RunAsync(sampleRatio: 1, traceParent: $"00-{CallerTraceId}-{CallerSpanId}-00");

        var (traceId, appParent, flags) = run.AppTraceParent();
        Assert.Equal((CallerTraceId, "00"), (traceId, flags));
        Assert.NotEqual(CallerSpanId, appParent);
        Assert.Empty(run.Spans);
        Assert.Equal((CallerTraceId, CallerTraceId), run.AccessLogTraceIds());
    }

    [Fact]
    public async Task Trace_NoIncomingTraceparentAndRatioZero_PropagatesAnUnsampledTraceWithoutExporting()
    {
        var run = await Chain.RunAsync(sampleRatio: 0, traceParent: null);

        var (traceId, _, flags) = run.AppTraceParent();
        Assert.Equal("00", flags);
        Assert.Empty(run.Spans);
        Assert.Equal((traceId, traceId), run.AccessLogTraceIds());
    }

    [Fact]
    public async Task Trace_TracingOffAndNoIncomingTraceparent_AddsNoTraceparentAndLogsNoTraceId()
    {
        var run = await Chain.RunAsync(sampleRatio: null, traceParent: null);

        Assert.Equal("", run.AppHeader);
        Assert.Equal(((string?)null, (string?)null), run.AccessLogTraceIds());
    }

    private sealed record Chain(string AppHeader, IReadOnlyList<ExportedSpan> Spans, string[] AccessLogLines)
    {
        /// <param name="sampleRatio">Null: tracing off.</param>
        public static async Task<Chain> RunAsync(double? sampleRatio, string? traceParent)
        {
            var logA = Path.Combine(Path.GetTempPath(), $"mesh-chain-a-{Guid.NewGuid():N}.log");
            var logB = Path.Combine(Path.GetTempPath(), $"mesh-chain-b-{Guid.NewGuid():N}.log");
            try
            {
                var seen = new ConcurrentQueue<string>();
                await using var app = await TestApp.StartAsync(context =>
                {
                    seen.Enqueue(context.Request.Headers["traceparent"].ToString());
                    return context.Response.WriteAsync("app");
                });
                await using var receiver = await OtlpReceiver.StartAsync();
                string Telemetry(string log) => sampleRatio is { } ratio
                    ? $$"""
                        telemetry:
                          tracing: { otlpEndpoint: "{{receiver.Endpoint}}", sampleRatio: {{ratio}} }
                          accessLog: { enabled: true, path: "{{log}}" }
                        """
                    : $$"""
                        telemetry:
                          accessLog: { enabled: true, path: "{{log}}" }
                        """;
                var logs = new CapturedLogs();
                var options = new SidecarHostOptions { ConfigureLogging = b => b.AddProvider(logs) };
                var sidecarB = await TestSidecar.StartAsync(SidecarConfigLoader.Parse($$"""
                    service: { name: chain-b }
                    app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
                    {{TestSidecar.Listeners}}
                    {{Telemetry(logB)}}
                    """), options);
                var sidecarA = await TestSidecar.StartAsync(SidecarConfigLoader.Parse($$"""
                    service: { name: chain-a }
                    {{TestSidecar.Listeners}}
                    {{Telemetry(logA)}}
                    endpoints:
                      chain-b:
                        - { id: b1, address: 127.0.0.1, port: {{sidecarB.InboundUrl.Port}} }
                    """), options);
                using (var client = TestSidecar.Client(sidecarA, "chain-b"))
                using (var request = new HttpRequestMessage(HttpMethod.Get, "/hello"))
                {
                    if (traceParent is not null)
                        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
                    using var response = await client.SendAsync(request);
                    Assert.Equal("app", await response.Content.ReadAsStringAsync());
                }
                // Stopping flushes the batch exporters and the access logs.
                await sidecarA.DisposeAsync();
                await sidecarB.DisposeAsync();
                Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
                return new Chain(Assert.Single(seen), receiver.Spans, [.. File.ReadAllLines(logA), .. File.ReadAllLines(logB)]);
            }
            finally
            {
                File.Delete(logA);
                File.Delete(logB);
            }
        }

        public (string TraceId, string ParentSpanId, string Flags) AppTraceParent()
        {
            var parts = AppHeader.Split('-');
            Assert.Equal(4, parts.Length);
            Assert.Equal("00", parts[0]);
            return (parts[1], parts[2], parts[3]);
        }

        /// <summary>The trace ids of A's outbound line and B's inbound line.</summary>
        public (string? A, string? B) AccessLogTraceIds()
        {
            Assert.Equal(2, AccessLogLines.Length);
            var ids = AccessLogLines.Select(line =>
            {
                using var json = JsonDocument.Parse(line);
                return json.RootElement.GetProperty("traceId").GetString();
            }).ToArray();
            return (ids[0], ids[1]);
        }

        /// <summary>Every exported span's parent is the caller's span, another exported span, or none (the root); each span is exported once.</summary>
        public void AssertNoHoles(string? callerSpanId)
        {
            Assert.NotEmpty(Spans);
            var ids = Spans.Select(s => s.SpanId).ToHashSet();
            Assert.Equal(Spans.Count, ids.Count);
            foreach (var span in Spans)
            {
                var known = span.ParentSpanId == callerSpanId
                    || ids.Contains(span.ParentSpanId)
                    || (callerSpanId is null && span.ParentSpanId.Length == 0);
                Assert.True(known, $"span {span.Name} of {span.Service} has parent {span.ParentSpanId}, which nobody exported");
            }
            Assert.Single(Spans, s => !ids.Contains(s.ParentSpanId));
        }
    }
}
