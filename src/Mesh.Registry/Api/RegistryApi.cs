using System.Buffers;
using System.Globalization;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Status;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Api;

/// <summary>
/// The client API of docs/registry-api.md. One hand-written dispatcher (no endpoint routing) so
/// unknown paths and wrong methods get the contract's JSON errors. Writes and linearizable reads
/// run on the leader; a follower forwards them (<see cref="LeaderForwarder"/>). Watches, stale
/// reads and status are served from this node's own applied state.
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
    bool claimServiceNames = true)
{
    private const string CallerKey = "mesh.caller";
    private const string BodyLimitKey = "mesh.body-limit";

    private static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan DefaultWatchWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxWatchWait = TimeSpan.FromMinutes(5);

    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            await DispatchAsync(context).ConfigureAwait(false);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            await ApiJson.ErrorAsync(context, e.Status, e.Code, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            if (e.StatusCode == StatusCodes.Status413PayloadTooLarge && context.Items[BodyLimitKey] is BodyLimit limit)
                await RefuseBodyAsync(context, limit, declared: null).ConfigureAwait(false);
            else
                await ApiJson.ErrorAsync(context, e.StatusCode, ApiErrors.BadRequest, e.Message).ConfigureAwait(false);
        }
        catch (IndexCompactedException e) when (!context.Response.HasStarted)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status410Gone, ApiErrors.IndexCompacted, e.Message,
                w => w.WriteNumber("oldestIndex", e.Oldest)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NotLeaderException or QuorumUnavailableException && !context.Response.HasStarted)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, e.Message).ConfigureAwait(false);
        }
        catch (OutcomeUnknownException e) when (!context.Response.HasStarted)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown, e.Message).ConfigureAwait(false);
        }
        catch (TimeoutException e) when (!context.Response.HasStarted)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.Timeout, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            await ApiFaults.AnswerAsync(context, logger, e).ConfigureAwait(false);
        }
    }

    private async Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var method = context.Request.Method;
        // Before anything can read the body: how much of it this endpoint may read.
        var bodyLimit = BodyLimits.For(method, path, limits);
        context.Items[BodyLimitKey] = bodyLimit;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = bodyLimit.Bytes;

        // Authentication reads headers only; a refused caller's body is never read.
        var gated = AnonymousGate.Applies(method, path);
        var caller = auth.Enabled || gated ? auth.Authenticate(context.Request) : null;
        if (auth.Enabled)
        {
            var decision = ApiAccessPolicy.Decide(caller, method, path);
            if (!decision.Allowed)
            {
                await RefuseAsync(context, decision).ConfigureAwait(false);
                return;
            }
        }
        context.Items[CallerKey] = caller;

        if (context.Request.ContentLength > bodyLimit.Bytes)
        {
            await RefuseBodyAsync(context, bodyLimit, context.Request.ContentLength).ConfigureAwait(false);
            return;
        }

        if (gated && caller is null)
        {
            using var lease = anonymousGate.TryEnter();
            if (lease is null)
            {
                context.Response.Headers.RetryAfter = "1";
                await ApiJson.ErrorAsync(context, StatusCodes.Status429TooManyRequests, ApiErrors.TooManyRequests,
                    $"at most {anonymousGate.Permits} requests without a token are served at once here (--anonymous-concurrency); " +
                    "retry later, or send the join token as Authorization: Bearer TOKEN").ConfigureAwait(false);
                return;
            }
            await RouteAsync(context, path, method).ConfigureAwait(false);
            return;
        }
        await RouteAsync(context, path, method).ConfigureAwait(false);
    }

    private Task RouteAsync(HttpContext context, string path, string method)
    {
        if (path == "/healthz")
            return Only(context, "GET", () => ApiJson.WriteAsync(context, 200, w => w.WriteString("status", "ok")));
        if (path == "/readyz")
            return Only(context, "GET", () => ReadyAsync(context));
        if (path == "/v1/status")
            return Only(context, "GET", () => StatusAsync(context));
        if (path == "/v1/txn")
            return Only(context, "POST", () => TxnAsync(context));
        if (path == "/v1/nodes" || path.StartsWith("/v1/nodes/", StringComparison.Ordinal))
            return NodesAsync(context, NodePathOf(path, "/v1/nodes".Length), method);
        if (path == "/v1/sessions" || path.StartsWith("/v1/sessions/", StringComparison.Ordinal))
            return SessionsAsync(context, path["/v1/sessions".Length..], method);
        if (path == "/v1/watch" || path.StartsWith("/v1/watch/", StringComparison.Ordinal))
            return Only(context, "GET", () => WatchAsync(context, NodePathOf(path, "/v1/watch".Length)));
        if (path.StartsWith("/v1/ca/", StringComparison.Ordinal))
            return CaAsync(context, path);
        if (path == "/v1/services" || path == "/v1/services/")
            return Only(context, "GET", () => ServicesAsync(context));
        if (path.StartsWith("/v1/services/", StringComparison.Ordinal))
            return Only(context, "GET", () => ServiceAsync(context, path["/v1/services/".Length..]));
        return ApiJson.ErrorAsync(context, 404, ApiErrors.NotFound, $"no such API path: {path}");
    }

    /// <summary>413, naming the limit. The connection is closed: the rest of the body is not read.</summary>
    private static Task RefuseBodyAsync(HttpContext context, BodyLimit limit, long? declared)
    {
        // HTTP/2 has no Connection header: Kestrel resets the stream's unread body instead.
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            context.Response.Headers.Connection = "close";
        return ApiJson.ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, limit.Code, limit.Message(declared),
            w => w.WriteNumber("limitBytes", limit.Bytes));
    }

    private static Task RefuseAsync(HttpContext context, AccessDecision decision)
    {
        if (decision.Status == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiJson.ErrorAsync(context, decision.Status,
            decision.Status == StatusCodes.Status401Unauthorized ? ApiErrors.Unauthenticated : ApiErrors.Forbidden, decision.Reason);
    }

    /// <summary>With authentication on, refuses (403) a transaction with an op the caller may not write.</summary>
    private void AuthorizeWrites(HttpContext context, IEnumerable<Core.Commands.TxnOp> ops)
    {
        if (!auth.Enabled)
            return;
        var caller = context.Items[CallerKey] as ApiCaller;
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

    private bool IsLeader => consensus.Role is ConsensusRole.Leader or ConsensusRole.Standalone;

    /// <summary>
    /// True when this node leads and the caller should go on; otherwise the request has been
    /// forwarded (or answered with 503) and the caller returns.
    /// </summary>
    private async Task<bool> EnsureLeaderAsync(HttpContext context)
    {
        if (IsLeader)
        {
            // The leader names itself too, so a client that landed on it keeps sending here.
            if (!context.Request.Headers.ContainsKey(LeaderForwarder.ForwardedHeader) && addresses.Known(consensus.LocalId) is { } self)
                context.Response.Headers[LeaderForwarder.LeaderHeader] = self.ToString().TrimEnd('/');
            return true;
        }
        if (context.Request.Headers.ContainsKey(LeaderForwarder.ForwardedHeader))
        {
            await ApiJson.ErrorAsync(context, 503, ApiErrors.Unavailable, "this node is no longer the leader; retry").ConfigureAwait(false);
            return false;
        }
        var leader = consensus.LeaderId;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (leader is null && waited.Elapsed < LeaderWait)
        {
            await Task.Delay(25, context.RequestAborted).ConfigureAwait(false);
            leader = consensus.LeaderId;
        }
        if (IsLeader)
            return true;
        if (leader is null)
        {
            await ApiJson.ErrorAsync(context, 503, ApiErrors.Unavailable, "there is no leader right now; retry").ConfigureAwait(false);
            return false;
        }
        metrics.Forwarded();
        await forwarder.ForwardAsync(context, leader.Value).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// For a read: true to serve it here now (stale, or leader after a read barrier); false when
    /// it has been forwarded to the leader.
    /// </summary>
    private async Task<bool> PrepareReadAsync(HttpContext context)
    {
        if (Query.Bool(context, "stale"))
            return true;
        if (!await EnsureLeaderAsync(context).ConfigureAwait(false))
            return false;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(requestTimeout);
        try
        {
            await consensus.ReadBarrierAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new TimeoutException("the read barrier did not complete in time (no quorum?)");
        }
        return true;
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
        return context.Items[CallerKey] is ApiCaller.Workload { Scope: var scope }
            ? header with { Quota = new Core.Quotas.Quota(scope.Namespace, limits.QuotaNodes, limits.QuotaBytes, limits.QuotaSessions) }
            : header;
    }

    /// <summary>For a quota error: which limit, its value and its flag.</summary>
    private string? QuotaMessage(HttpContext context, ErrorCode code)
    {
        var owner = context.Items[CallerKey] is ApiCaller.Workload { Scope: var scope } ? $"namespace '{scope.Namespace}'" : "the namespace";
        return code switch
        {
            ErrorCode.NodeQuotaExceeded => $"{owner} may hold at most {limits.QuotaNodes} nodes (--quota-nodes); delete some first",
            ErrorCode.ByteQuotaExceeded => $"{owner} may hold at most {BodyLimits.Describe(limits.QuotaBytes)} of node data (--quota-bytes); delete or shrink some first",
            ErrorCode.SessionQuotaExceeded => $"{owner} may hold at most {limits.QuotaSessions} live sessions (--quota-sessions); close some or wait for them to expire",
            _ => null,
        };
    }
}
