using Mesh.Registry.Api.Access;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Writes;

internal sealed partial class ApiWriter
{
    /// <summary>Attempts at a join token's write when the owner record changed between reading it and applying the write.</summary>
    private const int OwnershipAttempts = 3;

    /// <summary>
    /// Writes <paramref name="command"/>. A join token's write under /services/S/ runs as one
    /// transaction behind the guard ops of <see cref="ServiceOwnership"/>, so the ownership it
    /// was allowed on still holds when the log applies it; the result is given back in the shape
    /// of the command that was asked for.
    /// </summary>
    // Not async for the common case (no join token): a write waits for its commit, and an async
    // layer here would cost a state machine per write.
    public Task<ApplyResult> WriteOwnedAsync(HttpContext context, Command command) =>
        !auth.Enabled || ApiAccessFilter.CallerOf(context) is not ApiCaller.Workload workload
            ? writer.WriteAsync(command, context.RequestAborted)
            : WriteGuardedAsync(context, command, workload);

    private async Task<ApplyResult> WriteGuardedAsync(HttpContext context, Command command, ApiCaller.Workload workload)
    {
        IReadOnlyList<TxnOp> ops = command switch
        {
            CreateNode c => [new CreateOp(c.Path, c.Data, c.Mode, c.SessionId, c.CreateParents)],
            SetData c => [new SetDataOp(c.Path, c.Data, c.ExpectedVersion)],
            DeleteNode c => [new DeleteOp(c.Path, c.ExpectedVersion, c.Recursive)],
            Transaction c => c.Ops,
            _ => throw new ArgumentException($"{command.GetType().Name} is not a node write", nameof(command)),
        };
        await AuthorizeSessionsAsync(context, ops, workload).ConfigureAwait(false);
        for (var attempt = 0; attempt < OwnershipAttempts; attempt++)
        {
            var plan = ServiceOwnership.Plan(workload.Scope, ops, path => store.Read(s => s.GetNode(path)), claimServiceNames);
            if (!plan.Decision.Allowed)
                throw new ApiException(plan.Decision.Status, ApiErrors.Forbidden, plan.Decision.Reason);
            if (plan.Guards.Count == 0)
                return await writer.WriteAsync(command, context.RequestAborted).ConfigureAwait(false);
            // The first attempt keeps the client's idempotency header (a retried request replays
            // its result). A failed attempt's result is recorded under that header too, so a
            // second attempt goes without one: a create it repeats answers NodeExists, which the
            // registration client already handles.
            var header = attempt == 0 ? command.Header : writer.Header() with { Quota = command.Header.Quota };
            var result = await writer.WriteAsync(new Transaction(header, [.. plan.Guards, .. ops]), context.RequestAborted).ConfigureAwait(false);
            if (result.FailedOp >= 0 && result.FailedOp < plan.Guards.Count)
                continue; // the owner record changed (a claim or a transfer won the race): decide again on what is there now
            return Unguarded(command, result, plan.Guards.Count);
        }
        throw new ApiException(StatusCodes.Status409Conflict, ApiErrors.Conflict,
            $"the owner record of a service this write touches kept changing ({OwnershipAttempts} attempts); retry");
    }

    /// <summary>Refuses (403) an ephemeral create bound to a session another namespace opened (<see cref="SessionOwnership"/>).</summary>
    private async Task AuthorizeSessionsAsync(HttpContext context, IReadOnlyList<TxnOp> ops, ApiCaller.Workload workload)
    {
        foreach (var op in ops)
        {
            if (op is not CreateOp { SessionId: not 0 and var id })
                continue;
            var session = await sessions.FindAsync(id, context.RequestAborted).ConfigureAwait(false);
            var decision = SessionOwnership.Decide(workload, id, session);
            if (!decision.Allowed)
                throw new ApiException(decision.Status, ApiErrors.Forbidden, decision.Reason);
        }
    }

    /// <summary>The guarded transaction's result without its guard ops, as the asked-for command would have answered.</summary>
    private static ApplyResult Unguarded(Command command, ApplyResult result, int guards)
    {
        var ops = result.OpResults.Skip(guards).ToArray();
        var failed = result.FailedOp < 0 ? -1 : result.FailedOp - guards;
        if (command is Transaction)
            return result with { OpResults = ops, FailedOp = failed };
        var op = ops.Length > 0 ? ops[0] : default;
        return result with
        {
            Error = result.IsOk || failed == 0 ? op.Error : result.Error,
            Path = op.Path,
            Stat = op.Stat,
            OpResults = [],
            FailedOp = -1,
        };
    }
}
