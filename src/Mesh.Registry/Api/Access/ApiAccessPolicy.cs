using Mesh.Registry.Contracts;

namespace Mesh.Registry.Api.Access;

/// <summary>The answer to "may this caller do this": allowed, or the status and reason to refuse with.</summary>
internal readonly record struct AccessDecision(bool Allowed, int Status, string Reason)
{
    public static AccessDecision Allow { get; } = new(true, 200, "");

    public static AccessDecision Unauthenticated(string reason) => new(false, 401, reason);

    public static AccessDecision Forbidden(string reason) => new(false, 403, reason);
}

/// <summary>
/// Who may call what on the client API once authentication is on. Pure: a caller, a method and
/// a path in, a decision out.
/// <list type="bullet">
/// <item>Open to anyone: health and readiness, the public CA root, and certificate signing (the
/// join token in its body is the credential there).</item>
/// <item><c>admin</c> tokens: everything.</item>
/// <item><c>read</c> tokens: reads and watches only.</item>
/// <item>Join tokens (sidecars): reads, watches, sessions, and writes under
/// <c>/services/SERVICE/</c> for the services their scope allows; not routes or policies, and
/// not <c>/services/SERVICE</c> itself (its data is the ownership record). Whether the token's
/// namespace owns SERVICE is checked against current state when the write is made
/// (<see cref="ServiceOwnership"/>).</item>
/// </list>
/// </summary>
internal static class ApiAccessPolicy
{
    private static readonly AccessDecision NoToken =
        AccessDecision.Unauthenticated("this registry requires a bearer token (Authorization: Bearer TOKEN)");

    public static bool IsOpen(string method, string path) => (method, path) switch
    {
        ("GET", "/healthz" or "/readyz" or "/v1/ca/root") => true,
        ("POST", "/v1/ca/sign") => true,
        _ => false,
    };

    public static AccessDecision Decide(ApiCaller? caller, string method, string path)
    {
        if (IsOpen(method, path))
            return AccessDecision.Allow;
        switch (caller)
        {
            case null:
                return NoToken;
            case ApiCaller.Operator { Role: ApiTokenRole.Admin }:
                return AccessDecision.Allow;
            case ApiCaller.Operator { Role: ApiTokenRole.Reader }:
                return IsRead(method, path) ? AccessDecision.Allow : AccessDecision.Forbidden($"a read token may not {method} {path}");
            case ApiCaller.Workload workload:
                if (IsRead(method, path) || path == "/v1/sessions" || path.StartsWith("/v1/sessions/", StringComparison.Ordinal))
                    return AccessDecision.Allow;
                // Transactions are checked op by op once parsed (DecideWrite).
                if (path == "/v1/txn")
                    return AccessDecision.Allow;
                if (path.StartsWith("/v1/nodes/", StringComparison.Ordinal))
                    return DecideWrite(caller, path["/v1/nodes".Length..]);
                return AccessDecision.Forbidden($"a join token may not {method} {path}");
            default:
                return AccessDecision.Forbidden("unknown caller");
        }
    }

    /// <summary>May <paramref name="caller"/> change the node at <paramref name="nodePath"/> (a write, or one op of a transaction)?</summary>
    public static AccessDecision DecideWrite(ApiCaller? caller, string nodePath)
    {
        switch (caller)
        {
            case null:
                return NoToken;
            case ApiCaller.Operator { Role: ApiTokenRole.Admin }:
                return AccessDecision.Allow;
            case ApiCaller.Operator:
                return AccessDecision.Forbidden($"a read token may not change {nodePath}");
            case ApiCaller.Workload { Scope: var scope }:
                var service = ServiceOf(nodePath);
                if (service is not null && (scope.Service is null || scope.Service == service))
                    return AccessDecision.Allow;
                return AccessDecision.Forbidden($"a join token for {scope} may change only {ServicePaths.ServicesRoot}/{scope.Service ?? "SERVICE"}/..., not {nodePath}");
            default:
                return AccessDecision.Forbidden("unknown caller");
        }
    }

    private static bool IsRead(string method) => method is "GET" or "HEAD";

    // A streaming watch may be POSTed (its watches as a form body, when they outgrow a URL): still a read.
    private static bool IsRead(string method, string path) => IsRead(method) || (method == "POST" && path == "/v1/watch-stream");

    /// <summary>The service of a path strictly under <c>/services/SERVICE/</c>, or null.</summary>
    internal static string? ServiceOf(string nodePath)
    {
        var prefix = ServicePaths.ServicesRoot + "/";
        if (!nodePath.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var rest = nodePath[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 || slash == rest.Length - 1 ? null : rest[..slash];
    }
}
