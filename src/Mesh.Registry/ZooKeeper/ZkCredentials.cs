using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// Digest authentication mapped onto the registry's tokens: <c>addauth digest NAME:TOKEN</c> where
/// TOKEN is an operator token (<c>admin</c>: read and write; <c>read</c>: read only) or a join token
/// (read only over ZooKeeper for now: the HTTP API's per-service ownership and quota checks are not
/// applied on this port yet). NAME is ignored.
/// </summary>
internal sealed class ZkCredentials(ApiTokens operators, Func<JoinTokenRegistry> joinTokens)
{
    private static readonly IZkAccess ReadOnly = ZkAccess.Custom(_ => null, _ => ZkError.NoAuth);

    /// <summary>The access the credentials grant, or null when they are not valid.</summary>
    public IZkAccess? Authenticate(string? scheme, byte[]? auth)
    {
        if (scheme != "digest" || auth is null)
            return null;
        var text = Encoding.UTF8.GetString(auth);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
            return null;
        var token = text[(colon + 1)..];
        if (token.Length == 0)
            return null;
        if (operators.RoleOf(token) is { } role)
            return role == ApiTokenRole.Admin ? ZkAccess.Open : ReadOnly;
        return joinTokens().ScopeOf(token) is not null ? ReadOnly : null;
    }
}
