using System.Globalization;
using System.Text.Json;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Sessions;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    private const long DefaultSessionTtlMs = 10_000;

    /// <param name="rest">What follows <c>/v1/sessions</c>: empty, <c>/{id}</c> or <c>/{id}/keepalive</c>.</param>
    private Task SessionsAsync(HttpContext context, string rest, string method)
    {
        if (rest.Length == 0 || rest == "/")
        {
            return method switch
            {
                "GET" => ListSessionsAsync(context),
                "POST" => OpenSessionAsync(context),
                _ => MethodNotAllowed(context, "GET, POST"),
            };
        }
        var parts = rest[1..].Split('/');
        if (parts.Length > 2 || (parts.Length == 2 && parts[1] != "keepalive"))
            return ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, $"no such API path: {context.Request.Path}");
        if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            throw ApiException.BadRequest($"'{parts[0]}' is not a session id");
        if (parts.Length == 2)
            return Only(context, "PUT", () => KeepAliveAsync(context, id));
        return Only(context, "DELETE", () => CloseSessionAsync(context, id));
    }

    private async Task ListSessionsAsync(HttpContext context)
    {
        var (sessions, index) = store.Read(s => (s.GetSessions(), s.AppliedIndex));
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        var list = new SessionListResponse([.. sessions.Select(s => new Contracts.SessionInfo(s.Id, s.TtlMs, s.EphemeralCount))]);
        await ApiJson.WriteAsync(context, 200, list, RegistryJson.Default.SessionListResponse).ConfigureAwait(false);
    }

    private async Task OpenSessionAsync(HttpContext context)
    {
        var (clientId, seq) = IdempotencyOf(context);
        var ttl = await ReadTtlAsync(context).ConfigureAwait(false);
        var result = await writer.WriteAsync(new OpenSession(HeaderFor(context, clientId, seq), ttl), context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 201, new SessionResponse(result.SessionId, result.TtlMs, result.Index),
            RegistryJson.Default.SessionResponse).ConfigureAwait(false);
    }

    private async Task KeepAliveAsync(HttpContext context, long id)
    {
        var (clientId, seq) = IdempotencyOf(context);
        // Cheap refusal of unknown sessions without a log entry; the command re-checks.
        if (!store.Read(s => s.TryGetSession(id, out _)))
        {
            await ApiJson.ErrorAsync(context, Core.Results.ErrorCode.SessionExpired, null).ConfigureAwait(false);
            return;
        }
        var result = await writer.WriteAsync(new KeepAlive(HeaderFor(context, clientId, seq), id), context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new SessionResponse(result.SessionId, result.TtlMs), RegistryJson.Default.SessionResponse).ConfigureAwait(false);
    }

    private async Task CloseSessionAsync(HttpContext context, long id)
    {
        var (clientId, seq) = IdempotencyOf(context);
        var result = await writer.WriteAsync(new CloseSession(HeaderFor(context, clientId, seq), id), context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await WriteFailureAsync(context, result, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new WriteResponse(null, null, result.Index), RegistryJson.Default.WriteResponse).ConfigureAwait(false);
    }

    private static async Task<long> ReadTtlAsync(HttpContext context)
    {
        if (context.Request.ContentLength == 0)
            return DefaultSessionTtlMs;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw ApiException.BadRequest("the body must be { \"ttlMs\": N }");
            if (!root.TryGetProperty("ttlMs", out var ttl))
                return DefaultSessionTtlMs;
            return ttl.ValueKind == JsonValueKind.Number && ttl.TryGetInt64(out var value)
                ? SessionLimits.ClampTtl(value)
                : throw ApiException.BadRequest("ttlMs must be an integer");
        }
        catch (JsonException e) when (context.Request.ContentLength is null && e.BytePositionInLine == 0 && e.LineNumber == 0)
        {
            return DefaultSessionTtlMs; // an empty chunked body
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the body is not valid JSON: " + e.Message);
        }
    }
}
