using System.Buffers;
using System.Globalization;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Status;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Api;

/// <summary>
/// The client API of docs/registry-api.md on ASP.NET endpoints. Every endpoint runs behind the
/// access policy and its body limit (<see cref="ApiAccessFilter"/>, <see cref="BodyLimitFilter"/>);
/// writes and linearizable reads behind <see cref="LeaderFilter"/>, which forwards them from a
/// follower to the leader. Unknown paths and wrong methods get the contract's JSON errors, and
/// exceptions become answers in one place (<see cref="ApiErrorMapping"/>). Watches, stale reads
/// and status are served from this node's own applied state.
/// </summary>
internal sealed partial class RegistryApi(
    IConsensus consensus,
    RegistryStore store,
    RegistryWriter writer,
    LeaderForwarder forwarder,
    MemberAddresses addresses,
    PeerStatusClient peers,
    RegistryMetrics metrics,
    TimeSpan requestTimeout,
    RegistryCertificateAuthority ca,
    ApiAuthenticator auth,
    RegistryLimits limits,
    AnonymousGate anonymousGate,
    ILogger logger,
    TimeProvider time,
    bool claimServiceNames = true)
{
    private static readonly TimeSpan DefaultWatchWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxWatchWait = TimeSpan.FromMinutes(5);

    /// <summary>Adds the API to <paramref name="app"/>: the one error mapping around every endpoint, then the endpoints.</summary>
    public void Map(WebApplication app)
    {
        var errors = new ApiErrorMapping(logger);
        app.Use(errors.InvokeAsync);

        var writes = LeaderFilter.Writes(consensus, addresses, forwarder, metrics, requestTimeout, time);
        var reads = writes.ForReads();
        // Access first (a refused caller's body is never read), then the body limit.
        var api = app.MapGroup("").AddEndpointFilter(new ApiAccessFilter(auth)).AddEndpointFilter(new BodyLimitFilter(limits));
        var gate = new AnonymousGateFilter(anonymousGate);

        // A path's method-agnostic endpoint answers the methods it does not serve: routing prefers
        // an endpoint that names the request's method over one that names none, which the
        // analyzer does not know.
#pragma warning disable ASP0022

        api.MapGet("/healthz", context => ApiJson.WriteAsync(context, 200, new HealthResponse("ok"), RegistryJson.Default.HealthResponse));
        api.Map("/healthz", context => MethodNotAllowed(context, "GET"));
        api.MapGet("/readyz", ReadyAsync);
        api.Map("/readyz", context => MethodNotAllowed(context, "GET"));
        api.MapGet("/v1/status", StatusAsync);
        api.Map("/v1/status", context => MethodNotAllowed(context, "GET"));
        api.MapPost("/v1/txn", TxnAsync).AddEndpointFilter(writes);
        api.Map("/v1/txn", context => MethodNotAllowed(context, "POST"));

        // The method-specific endpoints win; the catch-all ones answer the rest (405, 404, 400)
        // as the resource's own dispatcher always has.
        api.MapGet("/v1/nodes/{**path}", NodesAsync).AddEndpointFilter(reads);
        api.MapMethods("/v1/nodes/{**path}", ["POST", "PUT", "DELETE"], NodesAsync).AddEndpointFilter(writes);
        api.Map("/v1/nodes/{**path}", NodesAsync);

        api.MapGet("/v1/sessions", SessionsAsync).AddEndpointFilter(reads);
        api.MapPost("/v1/sessions", SessionsAsync).AddEndpointFilter(writes);
        api.MapDelete("/v1/sessions/{id}", SessionsAsync).AddEndpointFilter(writes);
        api.MapPut("/v1/sessions/{id}/keepalive", SessionsAsync).AddEndpointFilter(writes);
        api.Map("/v1/sessions/{**rest}", SessionsAsync);

        api.MapGet("/v1/watch/{**path}", context => WatchAsync(context, NodePathOf(context.Request.Path.Value!, "/v1/watch".Length)));
        api.Map("/v1/watch/{**path}", context => MethodNotAllowed(context, "GET"));

        api.MapGet("/v1/ca/root", CaRootAsync).AddEndpointFilter(gate);
        api.MapPost("/v1/ca/sign", CaSignAsync).AddEndpointFilter(gate);
        api.MapPost("/v1/ca/revoke", CaRevokeAsync).AddEndpointFilter(writes);
        api.Map("/v1/ca/{**rest}", context => CaAsync(context, context.Request.Path.Value!));

        api.MapGet("/v1/services", ServicesAsync).AddEndpointFilter(reads);
        api.MapGet("/v1/services/{**name}", context => ServiceAsync(context, context.Request.Path.Value!["/v1/services/".Length..]))
            .AddEndpointFilter(writes.ForReads(context => Query.Long(context, "after") is not null));
        api.Map("/v1/services/{**name}", context => MethodNotAllowed(context, "GET"));

        api.Map("/{**path}", context => ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, $"no such API path: {context.Request.Path}"));
#pragma warning restore ASP0022
    }

    private Task NodesAsync(HttpContext context) =>
        NodesAsync(context, NodePathOf(context.Request.Path.Value!, "/v1/nodes".Length), context.Request.Method);

    private Task SessionsAsync(HttpContext context) =>
        SessionsAsync(context, context.Request.Path.Value!["/v1/sessions".Length..], context.Request.Method);

    /// <summary>With authentication on, refuses (403) a transaction with an op the caller may not write.</summary>
    private void AuthorizeWrites(HttpContext context, IEnumerable<Core.Commands.TxnOp> ops)
    {
        if (!auth.Enabled)
            return;
        var caller = ApiAccessFilter.CallerOf(context);
        foreach (var op in ops)
        {
            if (op is Core.Commands.CheckVersionOp)
                continue;
            var decision = ApiAccessPolicy.DecideWrite(caller, op.Path);
            if (!decision.Allowed)
                throw new ApiException(decision.Status, ApiErrors.Forbidden, decision.Reason);
        }
    }

    private static Task Only(HttpContext context, string method, Func<Task> handler) =>
        context.Request.Method == method ? handler() : MethodNotAllowed(context, method);

    private static Task MethodNotAllowed(HttpContext context, string allowed)
    {
        context.Response.Headers.Allow = allowed;
        return ApiJson.ErrorAsync(context, 405, ApiErrors.MethodNotAllowed,
            $"{context.Request.Method} is not allowed on {context.Request.Path}; use {allowed}");
    }

    /// <summary><c>/v1/nodes</c> and <c>/v1/nodes/</c> are the root; the rest is the node path, checked by the core's rules.</summary>
    private static string NodePathOf(string requestPath, int prefixLength)
    {
        var rest = requestPath[prefixLength..];
        if (rest.Length <= 1)
            return NodePath.Root;
        if (!NodePath.IsValid(rest))
            throw new ApiException(400, ApiErrors.InvalidPath, $"'{rest}' is not a valid node path");
        return rest;
    }

    private static (Guid ClientId, long Sequence) IdempotencyOf(HttpContext context)
    {
        var headers = context.Request.Headers;
        var hasId = headers.TryGetValue("Mesh-Client-Id", out var idText);
        var hasSeq = headers.TryGetValue("Mesh-Request-Seq", out var seqText);
        if (!hasId && !hasSeq)
            return (Guid.Empty, 0);
        if (!hasId || !Guid.TryParse(idText.ToString(), out var id) || id == Guid.Empty)
            throw ApiException.BadRequest("Mesh-Client-Id must be a non-empty UUID when Mesh-Request-Seq is sent");
        if (!hasSeq || !long.TryParse(seqText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq <= 0)
            throw ApiException.BadRequest("Mesh-Request-Seq must be a positive integer when Mesh-Client-Id is sent");
        return (id, seq);
    }

    /// <summary>Reads a node data body; the request's body limit (1 MiB, set in dispatch) refuses more while it streams.</summary>
    private static async Task<byte[]> ReadDataAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (read.IsCompleted)
            {
                var data = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return data;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private TimeSpan WaitOf(HttpContext context)
    {
        var text = context.Request.Query["wait"].ToString();
        if (text.Length == 0)
            return DefaultWatchWait;
        var wait = Query.Duration(text) ?? throw ApiException.BadRequest($"wait '{text}' is not a duration like 500ms, 30s or 2m");
        return wait > MaxWatchWait ? MaxWatchWait : wait;
    }

    private static CreateMode ModeOf(string? text) => text switch
    {
        null or "" or "persistent" => CreateMode.Persistent,
        "ephemeral" => CreateMode.Ephemeral,
        "sequential" => CreateMode.Sequential,
        "ephemeral_sequential" => CreateMode.EphemeralSequential,
        _ => throw ApiException.BadRequest($"mode '{text}' is not persistent, ephemeral, sequential or ephemeral_sequential"),
    };

    private Task WriteFailureAsync(HttpContext context, ApplyResult result, string? path) =>
        QuotaMessage(context, result.Error) is { } quota
            ? ApiJson.ErrorAsync(context, ApiErrors.StatusOf(result.Error), result.Error.ToString(), quota)
            : ApiJson.ErrorAsync(context, result.Error, result.Path ?? path);

    /// <summary>
    /// The header of a write. A join token's writes carry its namespace's quota, which the state
    /// machine checks against replicated usage; operators' writes are not limited.
    /// </summary>
    private Core.Commands.CommandHeader HeaderFor(HttpContext context, Guid clientId, long seq)
    {
        var header = writer.Header(clientId, seq);
        return ApiAccessFilter.CallerOf(context) is ApiCaller.Workload { Scope: var scope }
            ? header with { Quota = new Core.Quotas.Quota(scope.Namespace, limits.QuotaNodes, limits.QuotaBytes, limits.QuotaSessions) }
            : header;
    }

    /// <summary>For a quota error: which limit, its value and its flag.</summary>
    private string? QuotaMessage(HttpContext context, ErrorCode code)
    {
        var owner = ApiAccessFilter.CallerOf(context) is ApiCaller.Workload { Scope: var scope } ? $"namespace '{scope.Namespace}'" : "the namespace";
        return code switch
        {
            ErrorCode.NodeQuotaExceeded => $"{owner} may hold at most {limits.QuotaNodes} nodes (--quota-nodes); delete some first",
            ErrorCode.ByteQuotaExceeded => $"{owner} may hold at most {BodyLimits.Describe(limits.QuotaBytes)} of node data (--quota-bytes); delete or shrink some first",
            ErrorCode.SessionQuotaExceeded => $"{owner} may hold at most {limits.QuotaSessions} live sessions (--quota-sessions); close some or wait for them to expire",
            _ => null,
        };
    }
}
