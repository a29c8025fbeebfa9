// A real OTLP/HTTP trace receiver for tests: a Kestrel listener (port 0) taking POST /v1/traces
// with protobuf bodies, decoded by a minimal reader of the fields the tests look at.
using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Telemetry;

internal sealed record ExportedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind);

internal sealed class OtlpReceiver : IAsyncDisposable
{
    /// <summary>OTLP SpanKind values.</summary>
    public const int KindServer = 2;
    public const int KindClient = 3;

    private readonly ConcurrentQueue<ExportedSpan> _spans = new();
    private readonly TestApp _app;

    private OtlpReceiver(TestApp app) => _app = app;

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    public string Endpoint => $"http://127.0.0.1:{_app.Port}/v1/traces";

    public static async Task<OtlpReceiver> StartAsync()
    {
        OtlpReceiver? receiver = null;
        var app = await TestApp.StartAsync(async context =>
        {
            if (context.Request.Method != HttpMethods.Post || context.Request.Path != "/v1/traces")
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            foreach (var span in Decode(body.ToArray()))
                receiver!._spans.Enqueue(span);
            context.Response.ContentType = "application/x-protobuf";
        });
        receiver = new OtlpReceiver(app);
        return receiver;
    }

    /// <summary>ExportTraceServiceRequest: resource_spans = 1.</summary>
    public static IEnumerable<ExportedSpan> Decode(byte[] request)
    {
        var spans = new List<ExportedSpan>();
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1)
                continue;
            // ResourceSpans: resource = 1, scope_spans = 2.
            var service = "";
            var scoped = new List<ReadOnlyMemory<byte>>();
            foreach (var (f, value) in Fields(resourceSpans))
            {
                if (f == 1)
                    service = ServiceName(value) ?? service;
                else if (f == 2)
                    scoped.Add(value);
            }
            // ScopeSpans: spans = 2.
            foreach (var scope in scoped)
            {
                foreach (var (f, span) in Fields(scope))
                {
                    if (f == 2)
                        spans.Add(DecodeSpan(service, span));
                }
            }
        }
        return spans;
    }

    // Resource: attributes = 1 (KeyValue: key = 1, value = 2 (AnyValue: string_value = 1)).
    private static string? ServiceName(ReadOnlyMemory<byte> resource)
    {
        foreach (var (f, attribute) in Fields(resource))
        {
            if (f != 1)
                continue;
            string? key = null;
            string? text = null;
            foreach (var (af, value) in Fields(attribute))
            {
                if (af == 1)
                    key = Encoding.UTF8.GetString(value.Span);
                else if (af == 2)
                    text = Fields(value).Where(v => v.Field == 1).Select(v => Encoding.UTF8.GetString(v.Value.Span)).FirstOrDefault();
            }
            if (key == "service.name")
                return text;
        }
        return null;
    }

    // Span: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, kind = 6 (varint).
    private static ExportedSpan DecodeSpan(string service, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        foreach (var (f, value) in Fields(span, kindField: 6, kind: k => kind = (int)k))
        {
            switch (f)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Span); break;
                case 2: spanId = Convert.ToHexStringLower(value.Span); break;
                case 4: parent = Convert.ToHexStringLower(value.Span); break;
                case 5: name = Encoding.UTF8.GetString(value.Span); break;
            }
        }
        return new ExportedSpan(service, traceId, spanId, parent, name, kind);
    }

    /// <summary>The length-delimited fields of a message; other wire types are skipped (a varint field can be reported).</summary>
    private static List<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message, int kindField = -1, Action<ulong>? kind = null)
    {
        var fields = new List<(int, ReadOnlyMemory<byte>)>();
        var data = message.Span;
        var i = 0;
        while (i < data.Length)
        {
            var tag = ReadVarint(data, ref i);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    var number = ReadVarint(data, ref i);
                    if (field == kindField)
                        kind?.Invoke(number);
                    break;
                case 1: i += 8; break;
                case 5: i += 4; break;
                case 2:
                    var length = (int)ReadVarint(data, ref i);
                    fields.Add((field, message.Slice(i, length)));
                    i += length;
                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7} at {i}");
            }
        }
        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int i)
    {
        if (Mesh.Registry.Core.Wire.Varint.TryRead(data[i..], out var value, out var length) != System.Buffers.OperationStatus.Done)
            throw new InvalidDataException($"bad varint at {i}");
        i += length;
        return value;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
