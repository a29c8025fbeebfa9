// One access log line. Built on the request path only when access logs are on; serialized by the
// background writer, never by the request. A struct of references the request already holds, so
// the bounded channel carries it without an allocation per line; the trace id of a caller's
// traceparent is cut out by the writer, not by the request.
using System.Text.Json;
using Mesh.Sidecar.Core;

namespace Mesh.Sidecar.Telemetry;

internal readonly struct AccessLogEntry
{
    public required DateTimeOffset Time { get; init; }
    public required RequestDirection Direction { get; init; }
    public required string Method { get; init; }
    public required string Path { get; init; }
    public required string Route { get; init; }
    public required string Service { get; init; }
    public string? Upstream { get; init; }
    public required int Status { get; init; }
    public required double DurationMs { get; init; }
    public long? RequestBytes { get; init; }
    public long? ResponseBytes { get; init; }
    public required string Caller { get; init; }
    /// <summary>The trace id of this request's span (tracing on).</summary>
    public string? TraceId { get; init; }

    /// <summary>Tracing off: the traceparent the caller sent, whose trace id the line shows.</summary>
    public string? TraceParent { get; init; }
    public int Retries { get; init; }
    public string? Error { get; init; }

    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("time"u8, Time);
        json.WriteString("direction"u8, Direction == RequestDirection.Inbound ? "inbound" : "outbound");
        json.WriteString("method"u8, Method);
        json.WriteString("path"u8, Path);
        json.WriteString("route"u8, Route);
        json.WriteString("service"u8, Service);
        WriteStringOrNull(json, "upstream"u8, Upstream);
        json.WriteNumber("status"u8, Status);
        json.WriteNumber("durationMs"u8, Math.Round(DurationMs, 3));
        WriteNumberOrNull(json, "requestBytes"u8, RequestBytes);
        WriteNumberOrNull(json, "responseBytes"u8, ResponseBytes);
        json.WriteString("caller"u8, Caller);
        if (TraceId is not null)
            json.WriteString("traceId"u8, TraceId);
        else if (TraceParent is { Length: 55 } traceParent)
            json.WriteString("traceId"u8, traceParent.AsSpan(3, 32)); // 00-<32 hex trace id>-<16 hex span id>-<flags>
        else
            json.WriteNull("traceId"u8);
        json.WriteNumber("retries"u8, Retries);
        WriteStringOrNull(json, "error"u8, Error);
        json.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
            json.WriteNull(name);
        else
            json.WriteString(name, value);
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }
}
