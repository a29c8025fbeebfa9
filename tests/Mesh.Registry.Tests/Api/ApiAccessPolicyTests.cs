using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;

namespace Mesh.Registry.Tests.Api;

public sealed class ApiAccessPolicyTests
{
    private static readonly ApiCaller Admin = new ApiCaller.Operator(ApiTokenRole.Admin);
    private static readonly ApiCaller Reader = new ApiCaller.Operator(ApiTokenRole.Reader);
    private static readonly ApiCaller Orders = new ApiCaller.Workload(new JoinTokenScope("shop", "orders"));
    private static readonly ApiCaller AnyShopService = new ApiCaller.Workload(new JoinTokenScope("shop"));

    [Theory]
    [InlineData("GET", "/healthz")]
    [InlineData("GET", "/readyz")]
    [InlineData("GET", "/v1/ca/root")]
    [InlineData("POST", "/v1/ca/sign")]
    public void HealthRootAndSigning_AreOpenToStrangers(string method, string path) =>
        Assert.True(ApiAccessPolicy.Decide(null, method, path).Allowed);

    [Theory]
    [InlineData("GET", "/v1/nodes/config/routes")]
    [InlineData("PUT", "/v1/nodes/config/routes/shop")]
    [InlineData("GET", "/v1/status")]
    [InlineData("GET", "/v1/watch/services")]
    [InlineData("POST", "/v1/txn")]
    public void Strangers_AreAskedToAuthenticate(string method, string path)
    {
        var decision = ApiAccessPolicy.Decide(null, method, path);
        Assert.Equal(401, decision.Status);
        Assert.Contains("Bearer", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Admin_MayDoAnything()
    {
        Assert.True(ApiAccessPolicy.Decide(Admin, "PUT", "/v1/nodes/config/routes/shop").Allowed);
        Assert.True(ApiAccessPolicy.DecideWrite(Admin, "/config/policies/shop").Allowed);
    }

    [Fact]
    public void ReadToken_ReadsAndWatches_ButChangesNothing()
    {
        Assert.True(ApiAccessPolicy.Decide(Reader, "GET", "/v1/nodes/config/routes").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Reader, "GET", "/v1/watch/services").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Reader, "POST", "/v1/watch-stream").Allowed);
        Assert.Equal(403, ApiAccessPolicy.Decide(Reader, "PUT", "/v1/nodes/config/routes/shop").Status);
        Assert.Equal(403, ApiAccessPolicy.Decide(Reader, "POST", "/v1/sessions").Status);
        Assert.Equal(403, ApiAccessPolicy.DecideWrite(Reader, "/services/orders/instances/a").Status);
    }

    [Fact]
    public void JoinToken_RegistersItsOwnServiceOnly_AndNeverWritesRoutes()
    {
        Assert.True(ApiAccessPolicy.Decide(Orders, "GET", "/v1/nodes/config/routes").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Orders, "POST", "/v1/sessions").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Orders, "POST", "/v1/watch-stream").Allowed);
        Assert.Equal(401, ApiAccessPolicy.Decide(null, "POST", "/v1/watch-stream").Status);
        Assert.True(ApiAccessPolicy.Decide(Orders, "PUT", "/v1/sessions/42/keepalive").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Orders, "POST", "/v1/nodes/services/orders/instances/a").Allowed);
        Assert.True(ApiAccessPolicy.Decide(Orders, "DELETE", "/v1/nodes/services/orders/instances/a").Allowed);

        Assert.Equal(403, ApiAccessPolicy.Decide(Orders, "POST", "/v1/nodes/services/payments/instances/a").Status);
        Assert.Equal(403, ApiAccessPolicy.Decide(Orders, "PUT", "/v1/nodes/config/routes/orders").Status);
        Assert.Equal(403, ApiAccessPolicy.Decide(Orders, "DELETE", "/v1/nodes/services").Status);
        Assert.Equal(403, ApiAccessPolicy.Decide(Orders, "DELETE", "/v1/nodes/services/orders").Status);
        Assert.Equal(403, ApiAccessPolicy.DecideWrite(Orders, "/config/routes/orders").Status);
    }

    [Fact]
    public void RevokingAJoinToken_TakesAnAdminToken()
    {
        Assert.True(ApiAccessPolicy.Decide(Admin, "POST", "/v1/ca/revoke").Allowed);
        Assert.Equal(403, ApiAccessPolicy.Decide(Reader, "POST", "/v1/ca/revoke").Status);
        Assert.Equal(403, ApiAccessPolicy.Decide(Orders, "POST", "/v1/ca/revoke").Status);
        Assert.Equal(401, ApiAccessPolicy.Decide(null, "POST", "/v1/ca/revoke").Status);
    }

    [Fact]
    public void NamespaceWideJoinToken_WritesUnderAnyService()
    {
        Assert.True(ApiAccessPolicy.DecideWrite(AnyShopService, "/services/payments/instances/a").Allowed);
        Assert.Equal(403, ApiAccessPolicy.DecideWrite(AnyShopService, "/config/routes/x").Status);
    }

    [Theory]
    [InlineData("admin=0123456789abcdef", ApiTokenRole.Admin)]
    [InlineData(" read = 0123456789abcdef0123 ", ApiTokenRole.Reader)]
    public void ApiTokens_AreRoleEqualsToken(string text, ApiTokenRole role) =>
        Assert.Equal(role, ApiTokenGrant.Parse(text).Role);

    [Theory]
    [InlineData("root=0123456789abcdef", "role 'root' is unknown")]
    [InlineData("admin=short", "at least 16")]
    [InlineData("0123456789abcdef", "admin=TOKEN or read=TOKEN")]
    public void BadApiTokens_SayWhatIsWrong_WithoutRepeatingTheToken(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ApiTokenGrant.Parse(text));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", error.Message, StringComparison.Ordinal);
    }
}
