using System.Globalization;
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Writes;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Sessions;
using Mesh.Registry.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Sessions;

/// <summary>
/// <c>/v1/sessions</c>: list and open sessions, keep one alive, close one. Opening and closing are
/// writes (on the leader); a keep-alive is served by the node it reaches, which renews it with the
/// next batch of its keep-alives (<see cref="KeepAliveBatcher"/>) and answers once that is applied.
/// </summary>
internal sealed class SessionEndpoints(RegistryStore store, SessionLookup sessions, ApiWriter writes, KeepAliveBatcher keepAlives)
{
    private const string Prefix = "/v1/sessions";

    public void Map(IEndpointRouteBuilder api, LeaderFilter leader)
    {
        var sessions = api.MapGroup(Prefix);
        sessions.MapGet("", SessionsAsync).AddEndpointFilter(leader.ForReads());
        sessions.MapPost("", SessionsAsync).AddEndpointFilter(leader);
        sessions.MapDelete("/{id}", SessionsAsync).AddEndpointFilter(leader);
        sessions.MapPut("/{id}/keepalive", SessionsAsync);
        sessions.MapOthers("/{**rest}", SessionsAsync);
    }


    private const long DefaultSessionTtlMs = 10_000;

    /// <summary>By what follows <c>/v1/sessions</c>: empty, <c>/{id}</c> or <c>/{id}/keepalive</c>; anything else is 404, a bad id 400, a wrong method 405.</summary>
    private Task SessionsAsync(HttpContext context)
    {
        var rest = context.Request.Path.Value![Prefix.Length..];
        var method = context.Request.Method;
        if (rest.Length == 0 || rest == "/")
        {
            return method switch
            {
                "GET" => ListSessionsAsync(context),
                "POST" => OpenSessionAsync(context),
                _ => ApiRoutes.MethodNotAllowed(context, "GET, POST"),
            };
        }
        var parts = rest[1..].Split('/');
        if (parts.Length > 2 || (parts.Length == 2 && parts[1] != "keepalive"))
            return ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, $"no such API path: {context.Request.Path}");
        if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            throw ApiException.BadRequest($"'{parts[0]}' is not a session id");
        if (parts.Length == 2)
            return ApiRoutes.Only(context, "PUT", () => KeepAliveAsync(context, id));
        return ApiRoutes.Only(context, "DELETE", () => CloseSessionAsync(context, id));
    }

    private async Task ListSessionsAsync(HttpContext context)
    {
        var (all, index) = store.Read(s => (s.GetSessions(), s.AppliedIndex));
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        var caller = ApiAccessFilter.CallerOf(context);
        var list = new SessionListResponse([.. all.Where(s => SessionOwnership.Shows(caller, s)).Select(s => new Contracts.SessionInfo(s.Id, s.TtlMs, s.EphemeralCount))]);
        await ApiJson.WriteAsync(context, 200, list, RegistryJson.Default.SessionListResponse).ConfigureAwait(false);
    }

    private async Task OpenSessionAsync(HttpContext context)
    {
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        var ttl = await ReadTtlAsync(context).ConfigureAwait(false);
        var result = await writes.WriteAsync(new OpenSession(writes.Header(context, clientId, seq), ttl), context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await writes.FailureAsync(context, result, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 201, new SessionResponse(result.SessionId, result.TtlMs, result.Index),
            RegistryJson.Default.SessionResponse).ConfigureAwait(false);
    }

    private async Task KeepAliveAsync(HttpContext context, long id)
    {
        // Checked as on every write, though a keep-alive needs no deduplication: renewing twice is renewing.
        _ = ApiRequest.IdempotencyOf(context);
        // An unknown session is refused without joining a batch; one this node has not applied yet is waited for.
        var renewed = await FindUsableAsync(context, id).ConfigureAwait(false) is not null
            ? await keepAlives.RenewAsync(id, context.RequestAborted).ConfigureAwait(false)
            : null;
        if (renewed is not { } session)
        {
            await ApiJson.ErrorAsync(context, Core.Results.ErrorCode.SessionExpired, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new SessionResponse(session.Id, session.TtlMs), RegistryJson.Default.SessionResponse).ConfigureAwait(false);
    }

    /// <summary>The live session <paramref name="id"/>, or null; 403 when the caller's namespace did not open it.</summary>
    private async Task<Core.Sessions.SessionInfo?> FindUsableAsync(HttpContext context, long id)
    {
        var session = await sessions.FindAsync(id, context.RequestAborted).ConfigureAwait(false);
        var decision = SessionOwnership.Decide(ApiAccessFilter.CallerOf(context), id, session);
        if (!decision.Allowed)
            throw new ApiException(decision.Status, ApiErrors.Forbidden, decision.Reason);
        return session;
    }

    private async Task CloseSessionAsync(HttpContext context, long id)
    {
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        // An unknown session goes on to the log, which answers that it has expired (or replays a retried close).
        await FindUsableAsync(context, id).ConfigureAwait(false);
        var result = await writes.WriteAsync(new CloseSession(writes.Header(context, clientId, seq), id), context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await writes.FailureAsync(context, result, null).ConfigureAwait(false);
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
