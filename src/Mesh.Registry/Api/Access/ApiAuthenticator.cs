using Mesh.Registry.CertificateAuthority;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// Turns a request's <c>Authorization: Bearer TOKEN</c> into an <see cref="ApiCaller"/>: an operator
/// token (from this node's configuration) or a join token (replicated, hashed, with its scope).
/// Authentication is on when operator tokens are configured; without them every caller is let in,
/// as before, which suits a registry reachable only from loopback or a private network. A token
/// that is neither counts as a failure of the caller's address (<see cref="AuthFailureLimiter"/>),
/// and an address over its failures has its token refused unchecked.
/// </summary>
internal sealed class ApiAuthenticator(ApiTokens operators, Func<JoinTokenRegistry> joinTokens, AuthFailureLimiter? failures = null)
{
    public bool Enabled => operators.Any;

    /// <summary>This node's failed-authentication table, also for credentials that come in a body (<c>/v1/ca/sign</c>).</summary>
    public AuthFailureLimiter? Failures => failures;

    public ApiCaller? Authenticate(HttpRequest request) => Authenticate(request, out _);

    /// <param name="refused">Set when the request carried a token that was not checked because its address failed too often.</param>
    public ApiCaller? Authenticate(HttpRequest request, out AuthRefusal? refused)
    {
        refused = null;
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return null;
        var token = header[scheme.Length..].Trim();
        if (token.Length == 0)
            return null;
        var remote = request.HttpContext.Connection.RemoteIpAddress;
        if (failures?.Check(remote) is { } refusal)
        {
            refused = refusal;
            return null;
        }
        if (operators.RoleOf(token) is { } role)
            return new ApiCaller.Operator(role);
        if (joinTokens().ScopeOf(token) is { } scope)
            return new ApiCaller.Workload(scope);
        failures?.Failed(remote);
        return null;
    }
}
