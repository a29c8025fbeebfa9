using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>
/// Writes answers, the records of Mesh.Registry.Contracts through its one serializer context,
/// straight to the response body.
/// </summary>
internal static class ApiJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static async Task WriteAsync<T>(HttpContext context, int status, T body, JsonTypeInfo<T> type)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions);
        await using (writer.ConfigureAwait(false))
            JsonSerializer.Serialize(writer, body, type);
        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static Task ErrorAsync(HttpContext context, int status, string code, string message) =>
        ErrorAsync(context, status, new ErrorResponse(code, message));

    public static Task ErrorAsync(HttpContext context, int status, ErrorResponse body)
    {
        if (status == StatusCodes.Status503ServiceUnavailable)
            context.Response.Headers.RetryAfter = "1";
        return WriteAsync(context, status, body, RegistryJson.Default.ErrorResponse);
    }

    public static Task ErrorAsync(HttpContext context, ErrorCode code, string? path) =>
        ErrorAsync(context, ApiErrors.StatusOf(code), code.ToString(), ApiErrors.MessageOf(code, path));

    public static Contracts.NodeStat Stat(Core.Results.NodeStat stat) => new(
        stat.Version, stat.ChildVersion, stat.CreatedIndex, stat.ModifiedIndex, stat.CreatedTime,
        stat.ModifiedTime, stat.EphemeralOwner, stat.DataLength, stat.NumChildren,
        stat.Kind switch
        {
            Core.Tree.NodeKind.Container => "container",
            Core.Tree.NodeKind.Ttl => "ttl",
            _ => null,
        },
        stat.Kind == Core.Tree.NodeKind.Ttl ? stat.TtlMs : null);
}
