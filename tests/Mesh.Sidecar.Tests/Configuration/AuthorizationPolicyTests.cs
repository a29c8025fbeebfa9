using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class AuthorizationPolicyTests
{
    private static readonly AuthorizationPolicySet Policies = new(AuthorizationPolicyReader.Read("""
        authorization:
          - service: catalog
            rules:
              - name: no-legacy
                action: deny
                from: [legacy]
              - name: no-admin-writes
                action: deny
                paths: [/admin]
                methods: [POST, DELETE]
              - name: storefront-reads
                action: allow
                from: ["spiffe://mesh.test/ns/shop/sa/frontend", shop/checkout]
                paths: [/api/]
                methods: [GET, HEAD]
              - name: ops
                action: allow
                from: ["spiffe://mesh.test/ns/ops/sa/*"]
              - name: health
                action: allow
                paths: [/healthz]
              - name: reports
                action: allow
                from: ["*"]
                routes: [reports]
        """));

    [Theory]
    // no policy for the service: anyone, even unauthenticated
    [InlineData("billing", "spiffe://mesh.test/ns/shop/sa/frontend", "POST", "/x", null, true, null)]
    [InlineData("billing", null, "GET", "/x", null, true, null)]
    // allow rules
    [InlineData("catalog", "spiffe://mesh.test/ns/shop/sa/frontend", "GET", "/api/items", null, true, "storefront-reads")]
    [InlineData("catalog", "spiffe://mesh.test/ns/shop/sa/checkout", "head", "/api/", null, true, "storefront-reads")]
    [InlineData("catalog", "spiffe://mesh.test/ns/ops/sa/anything", "DELETE", "/api/items", null, true, "ops")]
    [InlineData("catalog", null, "GET", "/healthz", null, true, "health")]
    [InlineData("catalog", "spiffe://mesh.test/ns/shop/sa/billing", "GET", "/stats", "reports", true, "reports")]
    // default deny once a policy exists
    [InlineData("catalog", "spiffe://mesh.test/ns/shop/sa/frontend", "POST", "/api/items", null, false, "default-deny")]
    [InlineData("catalog", "spiffe://mesh.test/ns/shop/sa/frontend", "GET", "/apiv2", null, false, "default-deny")]
    [InlineData("catalog", "spiffe://mesh.test/ns/other/sa/checkout", "GET", "/api/items", null, false, "default-deny")]
    [InlineData("catalog", null, "GET", "/api/items", null, false, "default-deny")]
    [InlineData("catalog", null, "GET", "/stats", "reports", false, "default-deny")]
    // deny wins over allow
    [InlineData("catalog", "spiffe://mesh.test/ns/ops/sa/legacy", "GET", "/api/items", null, false, "no-legacy")]
    [InlineData("catalog", "spiffe://mesh.test/ns/ops/sa/admin", "POST", "/admin/users", null, false, "no-admin-writes")]
    [InlineData("catalog", "spiffe://mesh.test/ns/ops/sa/admin", "GET", "/admin/users", null, true, "ops")]
    public void Evaluate(string service, string? caller, string method, string path, string? route, bool allowed, string? rule)
    {
        var callerId = caller is null ? (SpiffeId?)null : SpiffeId.Parse(caller);

        var decision = Policies.Evaluate(service, new AuthorizationRequest(callerId, method, path, route));

        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(rule, decision.Rule);
        Assert.False(string.IsNullOrEmpty(decision.Reason));
    }

    [Theory]
    [InlineData("*", "spiffe://x.y/ns/a/sa/b", true)]
    [InlineData("b", "spiffe://x.y/ns/a/sa/b", true)]
    [InlineData("a/b", "spiffe://x.y/ns/a/sa/b", true)]
    [InlineData("a/*", "spiffe://x.y/ns/a/sa/c", true)]
    [InlineData("*/b", "spiffe://x.y/ns/z/sa/b", true)]
    [InlineData("spiffe://x.y/ns/a/sa/b", "spiffe://x.y/ns/a/sa/b", true)]
    [InlineData("spiffe://other.td/ns/a/sa/b", "spiffe://x.y/ns/a/sa/b", false)]
    [InlineData("a/b", "spiffe://x.y/ns/a/sa/bb", false)]
    [InlineData("*", null, false)]
    public void IdentityPattern_Matches(string pattern, string? caller, bool matches)
    {
        Assert.True(IdentityPattern.TryParse(pattern, out var parsed, out var error), error);
        Assert.Equal(matches, parsed.Matches(caller is null ? null : SpiffeId.Parse(caller)));
    }

    [Fact]
    public void PoliciesForOneServiceAreMerged()
    {
        var set = new AuthorizationPolicySet([
            new AuthorizationPolicy("catalog", [new AuthorizationRule { Name = "a", Action = AuthorizationAction.Allow, Paths = ["/a"] }]),
            new AuthorizationPolicy("catalog", [new AuthorizationRule { Name = "b", Action = AuthorizationAction.Deny, Paths = ["/a/secret"] }]),
        ]);

        Assert.True(set.Evaluate("catalog", new AuthorizationRequest(null, "GET", "/a/x")).Allowed);
        Assert.Equal("b", set.Evaluate("catalog", new AuthorizationRequest(null, "GET", "/a/secret")).Rule);
    }

    [Fact]
    public void Evaluate_ReasonsOfRulesAndOfServicesWithoutPolicy_NameTheirRuleAndService()
    {
        var set = new AuthorizationPolicySet([
            new AuthorizationPolicy("catalog", [
                new AuthorizationRule { Name = "open", Action = AuthorizationAction.Allow, Paths = ["/open"], Methods = ["get"] },
                new AuthorizationRule { Name = "shut", Action = AuthorizationAction.Deny, Paths = ["/open/shut"] },
            ]),
        ]);

        Assert.Equal("allowed by rule 'open' of service 'catalog'", set.Evaluate("catalog", new AuthorizationRequest(null, "GET", "/open/x")).Reason);
        Assert.Equal("denied by rule 'shut' of service 'catalog'", set.Evaluate("catalog", new AuthorizationRequest(null, "GET", "/open/shut")).Reason);
        // Kept for one service at a time: asking about another never answers with the first one's.
        Assert.Equal("no policy for service 'orders'", set.Evaluate("orders", new AuthorizationRequest(null, "GET", "/")).Reason);
        Assert.Equal("no policy for service 'billing'", set.Evaluate("billing", new AuthorizationRequest(null, "GET", "/")).Reason);
        Assert.Equal("no policy for service 'orders'", set.Evaluate("orders", new AuthorizationRequest(null, "GET", "/")).Reason);
        Assert.Same(set.Evaluate("orders", new AuthorizationRequest(null, "GET", "/")).Reason, set.Evaluate("orders", new AuthorizationRequest(null, "GET", "/")).Reason);
    }
}
