using System.Globalization;
using System.Text.Json;
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
internal sealed class SessionEndpoints(IConsensus consensus, RegistryStore store, ApiWriter writes, KeepAliveBatcher keepAlives, TimeSpan requestTimeout)
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

    /// <summary>How long a keep-alive for an id past this node's commit index waits to learn of it: several heartbeats.</summary>
    private static readonly TimeSpan UncommittedIdWait = TimeSpan.FromSeconds(1);

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
        var (sessions, index) = store.Read(s => (s.GetSessions(), s.AppliedIndex));
        context.Response.Headers["X-Mesh-Index"] = index.ToString(CultureInfo.InvariantCulture);
        var list = new SessionListResponse([.. sessions.Select(s => new Contracts.SessionInfo(s.Id, s.TtlMs, s.EphemeralCount))]);
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
        var renewed = await IsAliveHereAsync(id, context.RequestAborted).ConfigureAwait(false)
            ? await keepAlives.RenewAsync(id, context.RequestAborted).ConfigureAwait(false)
            : null;
        if (renewed is not { } session)
        {
            await ApiJson.ErrorAsync(context, Core.Results.ErrorCode.SessionExpired, null).ConfigureAwait(false);
            return;
        }
        await ApiJson.WriteAsync(context, 200, new SessionResponse(session.Id, session.TtlMs), RegistryJson.Default.SessionResponse).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the session is alive in this node's applied state. A session's id is the index of the
    /// command that opened it, so a node that has not applied that index yet (a follower just behind
    /// the leader the session was opened on) waits for it rather than calling the session expired:
    /// up to the request timeout (then 503) when it knows the index is committed, up to
    /// <see cref="UncommittedIdWait"/> (then 404, no such session) when it does not.
    /// </summary>
    private async Task<bool> IsAliveHereAsync(long id, CancellationToken cancellationToken)
    {
        var (alive, applied) = store.Read(s => (s.TryGetSession(id, out _), s.AppliedIndex));
        if (alive || id <= applied)
            return alive;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(requestTimeout);
        try
        {
            if (id > consensus.CommitIndex)
            {
                using var brief = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                brief.CancelAfter(UncommittedIdWait);
                try
                {
                    await consensus.WaitForAppliedAsync(id, brief.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                    // Past anything this node knows to be committed, even after a heartbeat or two: no such session.
                    if (id > consensus.CommitIndex)
                        return false;
                }
            }
            await consensus.WaitForAppliedAsync(id, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QuorumUnavailableException($"this node has not applied index {id}, where session {id} was opened, within {requestTimeout.TotalSeconds:0.#} s; retry");
        }
        return store.Read(s => s.TryGetSession(id, out _));
    }

    private async Task CloseSessionAsync(HttpContext context, long id)
    {
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
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
