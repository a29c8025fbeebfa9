using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Api.Sessions;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Writes;

/// <summary>
/// How the API writes for its caller: the command header (idempotency pair, and a join token's
/// namespace quota), the ownership guard of a join token's writes under /services
/// (<c>ApiWriter.Ownership.cs</c>), and the answer to a write the state machine refused.
/// </summary>
internal sealed partial class ApiWriter(RegistryWriter writer, RegistryStore store, SessionLookup sessions, ApiAuthenticator auth, RegistryLimits limits, bool claimServiceNames)
{
    /// <summary>Writes a command no ownership rule applies to (sessions).</summary>
    public Task<ApplyResult> WriteAsync(Command command, CancellationToken cancellationToken) => writer.WriteAsync(command, cancellationToken);

    /// <summary>
    /// The header of a write. A join token's writes carry its namespace's quota, which the state
    /// machine checks against replicated usage; operators' writes are not limited.
    /// </summary>
    public CommandHeader Header(HttpContext context, Guid clientId, long seq)
    {
        var header = writer.Header(clientId, seq);
        return ApiAccessFilter.CallerOf(context) is ApiCaller.Workload { Scope: var scope }
            ? header with { Quota = new Core.Quotas.Quota(scope.Namespace, limits.QuotaNodes, limits.QuotaBytes, limits.QuotaSessions) }
            : header;
    }

    /// <summary>With authentication on, refuses (403) a transaction with an op the caller may not write.</summary>
    public void AuthorizeWrites(HttpContext context, IEnumerable<TxnOp> ops)
    {
        if (!auth.Enabled)
            return;
        var caller = ApiAccessFilter.CallerOf(context);
        foreach (var op in ops)
        {
            if (op is CheckVersionOp)
                continue;
            var decision = ApiAccessPolicy.DecideWrite(caller, op.Path);
            if (!decision.Allowed)
                throw new ApiException(decision.Status, ApiErrors.Forbidden, decision.Reason);
        }
    }

    /// <summary>The answer to a write the state machine refused.</summary>
    public Task FailureAsync(HttpContext context, ApplyResult result, string? path) =>
        QuotaMessage(context, result.Error) is { } quota
            ? ApiJson.ErrorAsync(context, ApiErrors.StatusOf(result.Error), result.Error.ToString(), quota)
            : ApiJson.ErrorAsync(context, result.Error, result.Path ?? path);

    /// <summary>For a quota error: which limit, its value and its flag.</summary>
    public string? QuotaMessage(HttpContext context, ErrorCode code)
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
