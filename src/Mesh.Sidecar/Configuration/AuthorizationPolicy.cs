// Authorization policies: which callers may reach a service, by caller identity, route, path
// prefix and method. Immutable; a new set is built and swapped whole when policies change.
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Sidecar.Configuration;

public enum AuthorizationAction
{
    Allow,
    Deny,
}

/// <summary>The policy of one service: its rules, deny rules first in effect (see <see cref="AuthorizationPolicySet"/>).</summary>
public sealed record AuthorizationPolicy(string Service, IReadOnlyList<AuthorizationRule> Rules);

/// <summary>
/// One rule. A rule matches a request when every condition it has matches; a condition left out
/// (null) matches everything — for <see cref="From"/> that includes plaintext callers, while
/// <c>from: ["*"]</c> means any caller with a mesh identity.
/// </summary>
public sealed record AuthorizationRule
{
    public required string Name { get; init; }
    public required AuthorizationAction Action { get; init; }
    public IReadOnlyList<IdentityPattern>? From { get; init; }
    /// <summary>Route names (as the request's route was matched), exact.</summary>
    public IReadOnlyList<string>? Routes { get; init; }
    /// <summary>Path prefixes, segment-aware: "/api" matches "/api" and "/api/x", not "/apix".</summary>
    public IReadOnlyList<string>? Paths { get; init; }
    /// <summary>HTTP methods, any case.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    // Loops, not LINQ: this runs for every inbound request of a service with a policy, and a
    // lambda over a local allocates a closure and an enumerator each time.
    internal bool Matches(in AuthorizationRequest request)
    {
        if (From is not null && !AnyMatches(From, request.Caller))
            return false;
        if (Routes is not null && (request.Route is null || !Contains(Routes, request.Route, StringComparison.Ordinal)))
            return false;
        if (Paths is not null && !AnyPrefixOf(Paths, request.Path))
            return false;
        return Methods is null || Contains(Methods, request.Method, StringComparison.OrdinalIgnoreCase);
    }

    private static bool AnyMatches(IReadOnlyList<IdentityPattern> patterns, SpiffeId? caller)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Matches(caller))
                return true;
        }
        return false;
    }

    private static bool AnyPrefixOf(IReadOnlyList<string> prefixes, string path)
    {
        for (var i = 0; i < prefixes.Count; i++)
        {
            if (PathHasPrefix(path, prefixes[i]))
                return true;
        }
        return false;
    }

    private static bool Contains(IReadOnlyList<string> values, string value, StringComparison comparison)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], value, comparison))
                return true;
        }
        return false;
    }

    internal static bool PathHasPrefix(string path, string prefix) =>
        path.StartsWith(prefix, StringComparison.Ordinal) &&
        (prefix.EndsWith('/') || path.Length == prefix.Length || path[prefix.Length] is '/' or '?');
}

/// <summary>
/// Who a rule is about: <c>*</c> (any mesh identity), a SPIFFE id (<c>spiffe://td/ns/shop/sa/web</c>,
/// with <c>*</c> allowed for the namespace or service), <c>namespace/service</c> (either may be
/// <c>*</c>) or a bare service name (that service in any namespace).
/// </summary>
public sealed record IdentityPattern(string? TrustDomain, string Namespace, string Service)
{
    public const string Any = "*";

    public static IdentityPattern AnyMeshIdentity { get; } = new(null, Any, Any);

    public bool Matches(SpiffeId? caller) =>
        caller is { } id &&
        (TrustDomain is null || TrustDomain == id.TrustDomain) &&
        (Namespace == Any || Namespace == id.Namespace) &&
        (Service == Any || Service == id.Service);

    public static bool TryParse(string text, out IdentityPattern pattern, out string error)
    {
        pattern = AnyMeshIdentity;
        error = "";
        text = text.Trim();
        if (text == Any)
            return true;

        string? trustDomain = null;
        string[] parts;
        const string prefix = SpiffeId.Scheme + "://";
        if (text.StartsWith(prefix, StringComparison.Ordinal))
        {
            var segments = text[prefix.Length..].Split('/');
            if (segments.Length != 5 || segments[1] != "ns" || segments[3] != "sa")
            {
                error = $"'{text}' is not a SPIFFE id pattern (spiffe://trust-domain/ns/NAMESPACE/sa/SERVICE)";
                return false;
            }

            trustDomain = segments[0];
            if (SpiffeId.ValidateTrustDomain(trustDomain) is { } tdError)
            {
                error = $"'{text}': {tdError}";
                return false;
            }

            parts = [segments[2], segments[4]];
        }
        else
        {
            parts = text.Split('/');
            if (parts.Length == 1)
                parts = [Any, parts[0]];
        }

        if (parts.Length != 2)
        {
            error = $"'{text}' is not an identity (use *, SERVICE, NAMESPACE/SERVICE or a spiffe:// id)";
            return false;
        }

        var problem = (parts[0] == Any ? null : SpiffeId.ValidateSegment(parts[0], "namespace")) ??
                      (parts[1] == Any ? null : SpiffeId.ValidateSegment(parts[1], "service"));
        if (problem is not null)
        {
            error = $"'{text}': {problem}";
            return false;
        }

        pattern = new IdentityPattern(trustDomain, parts[0], parts[1]);
        return true;
    }

    public override string ToString() => TrustDomain is null
        ? (Namespace == Any && Service == Any ? Any : $"{Namespace}/{Service}")
        : $"{SpiffeId.Scheme}://{TrustDomain}/ns/{Namespace}/sa/{Service}";
}

/// <summary>What is being asked: who calls which path with which method (and which route it matched, if known).</summary>
internal readonly record struct AuthorizationRequest(SpiffeId? Caller, string Method, string Path, string? Route = null);

/// <summary>The answer; <see cref="Reason"/> goes into the 403's <c>x-mesh-denied-reason</c> header.</summary>
internal readonly record struct AuthorizationDecision(bool Allowed, string Reason, string? Rule)
{
    public const string DefaultDenyRule = "default-deny";
}

/// <summary>
/// All policies, by service. Evaluation: no policy for the service → allowed (the mesh is open
/// until a service says otherwise); otherwise a matching deny rule denies, else a matching allow
/// rule allows, else denied by default.
/// </summary>
internal sealed class AuthorizationPolicySet
{
    private readonly Dictionary<string, RuleOf[]> _deny = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RuleOf[]> _allow = new(StringComparer.Ordinal);
    // The "no policy" reason of the service last asked about: a sidecar asks for its own service
    // on every request, so it is built once, not per request; one entry, so it never grows.
    private NoPolicy? _noPolicy;

    /// <summary>Several policies for one service are merged (their rules all apply).</summary>
    public AuthorizationPolicySet(IEnumerable<AuthorizationPolicy> policies)
    {
        foreach (var group in policies.GroupBy(p => p.Service, StringComparer.Ordinal))
        {
            var service = group.Key;
            var rules = group.SelectMany(p => p.Rules).ToArray();
            _deny[service] = [.. rules.Where(r => r.Action == AuthorizationAction.Deny).Select(r => new RuleOf(r, $"denied by rule '{r.Name}' of service '{service}'"))];
            _allow[service] = [.. rules.Where(r => r.Action == AuthorizationAction.Allow).Select(r => new RuleOf(r, $"allowed by rule '{r.Name}' of service '{service}'"))];
        }
    }

    public static AuthorizationPolicySet Empty { get; } = new([]);

    public bool HasPolicy(string service) => _allow.ContainsKey(service);

    public AuthorizationDecision Evaluate(string service, in AuthorizationRequest request)
    {
        if (!_allow.TryGetValue(service, out var allow))
            return new AuthorizationDecision(true, NoPolicyReason(service), null);

        foreach (var (rule, reason) in _deny[service])
        {
            if (rule.Matches(request))
                return new AuthorizationDecision(false, reason, rule.Name);
        }

        foreach (var (rule, reason) in allow)
        {
            if (rule.Matches(request))
                return new AuthorizationDecision(true, reason, rule.Name);
        }

        var caller = request.Caller?.ToString() ?? "unauthenticated caller";
        return new AuthorizationDecision(
            false, $"no rule of service '{service}' allows {caller} {request.Method} {request.Path}", AuthorizationDecision.DefaultDenyRule);
    }

    private string NoPolicyReason(string service)
    {
        var last = Volatile.Read(ref _noPolicy);
        if (last is not null && string.Equals(last.Service, service, StringComparison.Ordinal))
            return last.Reason;
        last = new NoPolicy(service, $"no policy for service '{service}'");
        Volatile.Write(ref _noPolicy, last);
        return last.Reason;
    }

    /// <summary>A rule and the reason a decision by it gives, built with the set.</summary>
    private readonly record struct RuleOf(AuthorizationRule Rule, string Reason);

    private sealed record NoPolicy(string Service, string Reason);
}
