using System.Text.Json;
using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>Writes answers with a <see cref="Utf8JsonWriter"/> straight to the response body.</summary>
internal static class ApiJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static Task ErrorAsync(HttpContext context, int status, string code, string message, Action<Utf8JsonWriter>? extra = null)
    {
        if (status == StatusCodes.Status503ServiceUnavailable)
            context.Response.Headers.RetryAfter = "1";
        return WriteAsync(context, status, w =>
        {
            w.WriteString("error", code);
            w.WriteString("message", message);
            extra?.Invoke(w);
        });
    }

    public static Task ErrorAsync(HttpContext context, ErrorCode code, string? path) =>
        ErrorAsync(context, ApiErrors.StatusOf(code), code.ToString(), ApiErrors.MessageOf(code, path));

    public static void WriteStat(Utf8JsonWriter w, string name, NodeStat stat)
    {
        w.WriteStartObject(name);
        w.WriteNumber("version", stat.Version);
        w.WriteNumber("childVersion", stat.ChildVersion);
        w.WriteNumber("createdIndex", stat.CreatedIndex);
        w.WriteNumber("modifiedIndex", stat.ModifiedIndex);
        w.WriteNumber("createdTime", stat.CreatedTime);
        w.WriteNumber("modifiedTime", stat.ModifiedTime);
        w.WriteNumber("ephemeralOwner", stat.EphemeralOwner);
        w.WriteNumber("dataLength", stat.DataLength);
        w.WriteNumber("numChildren", stat.NumChildren);
        w.WriteEndObject();
    }
}
