using Mesh.Registry.CertificateAuthority;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// Turns a request's <c>Authorization: Bearer TOKEN</c> into an <see cref="ApiCaller"/>: an operator
/// token (from this node's configuration) or a join token (replicated, hashed, with its scope).
/// Authentication is on when operator tokens are configured; without them every caller is let in,
/// as before, which suits a registry reachable only from loopback or a private network.
/// </summary>
internal sealed class ApiAuthenticator(ApiTokens operators, Func<JoinTokenRegistry> joinTokens)
{
    public bool Enabled => operators.Any;

    public ApiCaller? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return null;
        var token = header[scheme.Length..].Trim();
        if (token.Length == 0)
            return null;
        if (operators.RoleOf(token) is { } role)
            return new ApiCaller.Operator(role);
        return joinTokens().ScopeOf(token) is { } scope ? new ApiCaller.Workload(scope) : null;
    }
}
