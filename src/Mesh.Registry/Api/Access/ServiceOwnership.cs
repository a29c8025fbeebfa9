// Secure naming on the write path: a join token of namespace N may change /services/S/... only
// while N owns S. The check cannot be a read followed by a write (another namespace could claim
// S in between, on this leader or the next), so it becomes ops of the same replicated
// transaction: "S's owner record still has the version I read (and says N)", or, for a name
// nobody owns yet, "create/fill S's owner record with N". Two namespaces racing to claim S then
// meet in the log: the second transaction finds the record there and fails as a whole.
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using ServiceOwner = Mesh.Registry.Contracts.ServiceOwner;
using ServicePaths = Mesh.Registry.Contracts.ServicePaths;

namespace Mesh.Registry.Api.Access;

/// <summary>The guard ops to run before a join token's ops, or why the write is refused.</summary>
internal sealed record OwnershipPlan(IReadOnlyList<TxnOp> Guards, AccessDecision Decision)
{
    public static OwnershipPlan Refuse(string reason) => new([], AccessDecision.Forbidden(reason));
}

/// <summary>Pure: a join token's scope, its ops and a reader of the current tree in; an <see cref="OwnershipPlan"/> out.</summary>
internal static class ServiceOwnership
{
    /// <param name="claimOnFirstUse">False: a name nobody owns is refused until an admin claims it.</param>
    /// <param name="serviceOf">The service an op's path belongs to (default: strictly under <c>/services/SERVICE/</c>).</param>
    public static OwnershipPlan Plan(JoinTokenScope scope, IEnumerable<TxnOp> ops, Func<string, NodeResult> read, bool claimOnFirstUse = true,
        Func<string, string?>? serviceOf = null)
    {
        serviceOf ??= ApiAccessPolicy.ServiceOf;
        var guards = new List<TxnOp>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var op in ops)
        {
            if (op is CheckVersionOp || serviceOf(op.Path) is not { } service || !seen.Add(service))
                continue;
            var path = ServicePaths.Service(service);
            var node = read(path);
            if (!node.IsOk)
            {
                if (!claimOnFirstUse)
                    return OwnershipPlan.Refuse(Unclaimed(service));
                // Claim: fails as a whole if anyone created the record meanwhile.
                guards.Add(new CreateOp(path, new ServiceOwner(scope.Namespace).ToBytes(), CreateMode.Persistent, 0, CreateParents: true));
                continue;
            }
            var owner = ServiceOwner.Parse(node.Data.Span, out var error);
            if (error is not null)
                return OwnershipPlan.Refuse($"service '{service}' has an invalid owner record ({error}); an admin must set it with `mesh ctl owner transfer {service} NAMESPACE`");
            if (owner is null)
            {
                if (!claimOnFirstUse)
                    return OwnershipPlan.Refuse(Unclaimed(service));
                // The node exists without an owner (made as a parent): claim it at the version read.
                guards.Add(new SetDataOp(path, new ServiceOwner(scope.Namespace).ToBytes(), node.Stat.Version));
                continue;
            }
            if (!string.Equals(owner.Namespace, scope.Namespace, StringComparison.Ordinal))
            {
                return OwnershipPlan.Refuse(
                    $"service '{service}' is owned by namespace '{owner.Namespace}'; a join token of namespace '{scope.Namespace}' may not register or change its instances");
            }
            // Still owned by us when the write is applied: a transfer in between bumps the version.
            guards.Add(new CheckVersionOp(path, node.Stat.Version));
        }
        return new OwnershipPlan(guards, AccessDecision.Allow);
    }

    private static string Unclaimed(string service) =>
        $"service '{service}' has no owner and this registry does not let a first registration claim it; an admin must run `mesh ctl owner claim {service} NAMESPACE`";
}
