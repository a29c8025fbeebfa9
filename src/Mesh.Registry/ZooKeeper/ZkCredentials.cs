using System.Net;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Quotas;
using Mesh.Registry.Storage;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// Digest authentication mapped onto the registry's tokens: <c>addauth digest NAME:TOKEN</c> where
/// TOKEN is an operator token (<c>admin</c>: read and write; <c>read</c>: read only) or a join token
/// (read, and write under <c>/services/SERVICE/</c> for the services its scope allows, with the HTTP
/// API's checks: the namespace must own SERVICE, or claim it on first use, in the same replicated
/// transaction as the write (<see cref="ServiceOwnership"/>), and what it creates counts against its
/// namespace's quota). NAME is ignored. Under a Curator base path other than /services
/// (<c>--curator-base-path</c>), a join token may also write <c>BASE/SERVICE</c> and below for the
/// same services, with the same ownership checks on <c>/services/SERVICE</c>, and create
/// <c>BASE</c> itself: the nodes a Curator app makes when it registers.
/// Every accepted <c>addauth digest NAME:PASSWORD</c> also gives the session ZooKeeper's digest
/// identity <c>digest:NAME:base64(sha1(NAME:PASSWORD))</c>, which node ACLs name. A password that
/// is not a registry token is accepted only where the session already has access (open mode, or
/// a token given before), and then adds that identity and no registry right. ZooKeeper adds up
/// digest identities, and so does this; but a connection acts for one registry token: a second,
/// different token is AuthFailed (and the connection closed) rather than a second set of rights,
/// which would let one connection act for two namespaces at once and blur whose quota and names a
/// write is under. The same token again is accepted.
/// </summary>
internal sealed class ZkCredentials(
    ApiTokens operators, Func<JoinTokenRegistry> joinTokens, RegistryStore store, RegistryLimits limits, bool claimServiceNames, AuthFailureLimiter failures,
    string curatorBasePath = Api.Services.CuratorInstances.DefaultBasePath)
{
    private static readonly IZkAccess ReadOnly = ZkAccess.Custom(_ => null, _ => ZkError.NoAuth);

    /// <summary>
    /// What <paramref name="packet"/> grants <paramref name="session"/>, or why it is refused. A
    /// remote address that failed too often (<see cref="AuthFailureLimiter"/>) is refused before the
    /// credentials are looked at; a digest password that is not a registry token counts as a failure,
    /// also where a session holding a token is given it as a plain digest identity: otherwise that
    /// session could try other tokens unlimited and tell them apart (a second token is refused, a
    /// non-token accepted).
    /// </summary>
    public ZkAuthAttempt Authenticate(AuthPacket packet, ZkSession session, IPAddress? remote)
    {
        if (packet.Scheme != "digest" || packet.Auth is null)
            return new(null, $"scheme '{packet.Scheme}' is not served; use digest with a registry token");
        if (failures.Check(remote) is { } refusal)
            return new(null, refusal.Reason, Unchecked: true);
        if (!session.MayAuthenticate(packet))
        {
            failures.Failed(remote);
            return new(null, $"the credentials are over {ZkSession.MaxAuthBytes} bytes, or the session holds {ZkSession.MaxDigestIdentities} digest identities already");
        }
        var text = Encoding.UTF8.GetString(packet.Auth);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? text : text[..colon];
        var password = colon < 0 ? "" : text[(colon + 1)..];
        var token = TokenAccess(password);
        var access = token ?? (session.Access == ZkAccess.None ? null : session.Access);
        // Not a token: a failure, or, on a session holding a token, a guess the answer would tell
        // apart from a second token. A plain digest user in --zk-open mode guesses nothing.
        if (token is null && (access is null || session.HoldsToken))
            failures.Failed(remote);
        if (access is null)
            return new(null, "the password is not a registry token");
        var granted = new ZkAuthentication(access, new ClientInfo("digest", user), new AclId("digest", ZkDigest.Of(text)), token is null ? null : TokenKey(password));
        return session.TryAuthenticate(granted)
            ? new(granted, null)
            : new(null, "a second, different registry token on one connection: a connection acts for one token (reconnect to use another)");
    }

    // Which token a session holds, without keeping the token itself.
    private static string TokenKey(string token) => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private IZkAccess? TokenAccess(string token)
    {
        if (token.Length == 0)
            return null;
        if (operators.RoleOf(token) is { } role)
            return role == ApiTokenRole.Admin ? ZkAccess.Open : ReadOnly;
        return joinTokens().ScopeOf(token) is { } scope ? Workload(scope) : null;
    }

    private IZkAccess Workload(JoinTokenScope scope)
    {
        var caller = new ApiCaller.Workload(scope);
        var quota = new Quota(scope.Namespace, limits.QuotaNodes, limits.QuotaBytes, limits.QuotaSessions);
        return ZkAccess.Custom(
            _ => null,
            path => ApiAccessPolicy.DecideWrite(caller, path).Allowed || CuratorWriteAllowed(scope, path) ? null : ZkError.NoAuth,
            ops =>
            {
                // The Curator base itself only comes into being: no one namespace may change or remove it.
                if (ops.Any(op => op.Path == curatorBasePath && op is not CreateOp))
                    return ZkWritePlan.Refuse(ZkError.NoAuth);
                var plan = ServiceOwnership.Plan(scope, ops, path => store.Read(s => s.GetNode(path)), claimServiceNames, ServiceOf);
                return plan.Decision.Allowed ? new ZkWritePlan(plan.Guards, quota) : ZkWritePlan.Refuse(ZkError.NoAuth);
            });
    }

    private bool CuratorWriteAllowed(JoinTokenScope scope, string path) =>
        curatorBasePath != Api.Services.CuratorInstances.DefaultBasePath
        && (path == curatorBasePath || Api.Services.CuratorInstances.ServiceOf(curatorBasePath, path) is { } service && (scope.Service is null || scope.Service == service));

    // The service a write is to: /services/SERVICE/..., or BASE/SERVICE[/...] under the Curator base.
    private string? ServiceOf(string path) =>
        ApiAccessPolicy.ServiceOf(path)
        ?? (curatorBasePath == Api.Services.CuratorInstances.DefaultBasePath ? null : Api.Services.CuratorInstances.ServiceOf(curatorBasePath, path));
}

/// <summary>What one <c>addauth</c> came to: what it granted, or why it was refused.</summary>
/// <param name="Unchecked">Refused before the credentials were looked at: the address failed too often.</param>
internal readonly record struct ZkAuthAttempt(ZkAuthentication? Granted, string? Refused, bool Unchecked = false);
