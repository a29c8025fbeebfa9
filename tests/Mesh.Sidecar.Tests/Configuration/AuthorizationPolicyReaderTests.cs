using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class AuthorizationPolicyReaderTests
{
    [Fact]
    public void Read_SinglePolicyDocument_AsStoredInTheRegistry()
    {
        var policy = Assert.Single(AuthorizationPolicyReader.Read("""
            service: catalog
            rules:
              - action: allow
                from: frontend
                methods: get
            """));

        Assert.Equal("catalog", policy.Service);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal("rule-0", rule.Name);
        Assert.Equal(["GET"], rule.Methods);
        Assert.Null(rule.Paths);
        Assert.Equal("*/frontend", Assert.Single(rule.From!).ToString());
    }

    [Fact]
    public void Read_ReportsEveryProblemWithItsFieldAndLine()
    {
        var ex = Assert.Throws<AuthorizationPolicyException>(() => AuthorizationPolicyReader.Read("""
            authorization:
              - service: catalog
                rules:
                  - action: permit
                    from: ["spiffe://mesh.test/ns/shop"]
                    paths: [api]
                    methods: [FETCH]
                    hosts: [x]
              - rules: []
            """, "sidecar.yaml"));

        Assert.Contains("authorization[0].rules[0].action (line 4): 'permit' must be allow or deny", ex.Errors);
        Assert.Contains(ex.Errors, e => e.StartsWith("authorization[0].rules[0].from (line 5): 'spiffe://mesh.test/ns/shop' is not a SPIFFE id pattern", StringComparison.Ordinal));
        Assert.Contains("authorization[0].rules[0].paths (line 6): 'api' must start with '/'", ex.Errors);
        Assert.Contains("authorization[0].rules[0].methods (line 7): 'FETCH' is not an HTTP method", ex.Errors);
        Assert.Contains(ex.Errors, e => e.StartsWith("authorization[0].rules[0].hosts (line 8): unknown field", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("authorization[1].service", StringComparison.Ordinal));
        Assert.StartsWith("sidecar.yaml: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_InvalidYaml_NamesTheLine()
    {
        var ex = Assert.Throws<AuthorizationPolicyException>(() => AuthorizationPolicyReader.Read("authorization:\n  - service: [unclosed\n"));
        Assert.Contains("invalid YAML", Assert.Single(ex.Errors), StringComparison.Ordinal);
    }
}
