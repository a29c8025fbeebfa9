using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>Join tokens' writes count against their namespace's quotas; operators' do not.</summary>
public sealed class QuotaApiTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string OrdersToken = "orders-join-token-0123456789";
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3, o => o with
    {
        ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
        JoinTokens = [JoinTokenGrant.Parse("shop/orders=" + OrdersToken)],
        Limits = new RegistryLimits { QuotaNodes = 4, QuotaBytes = 100, QuotaSessions = 2 },
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task JoinToken_OverEachQuota_Is403NamingTheLimit_AndAdminIsNotLimited()
    {
        var admin = Client(AdminToken);
        var shop = Client(OrdersToken);
        // Sent to a follower: the leader authenticates the forwarded request and applies the quota.
        var node = _cluster.Follower();
        await Expect(await admin.PostAsync(_cluster.Url(node, "/v1/nodes/services/orders/instances?parents=true"), Empty()), HttpStatusCode.Created);

        for (var i = 0; i < 4; i++)
            await Expect(await shop.PostAsync(_cluster.Url(node, $"/v1/nodes/services/orders/instances/i{i}"), Empty()), HttpStatusCode.Created);
        var nodes = await Expect(await shop.PostAsync(_cluster.Url(node, "/v1/nodes/services/orders/instances/i4"), Empty()), HttpStatusCode.Forbidden);
        Assert.Equal("NodeQuotaExceeded", nodes.GetProperty("error").GetString());
        Assert.Equal("namespace 'shop' may hold at most 4 nodes (--quota-nodes); delete some first", nodes.GetProperty("message").GetString());

        var bytes = await Expect(await shop.PutAsync(_cluster.Url(node, "/v1/nodes/services/orders/instances/i0"), new ByteArrayContent(new byte[101])), HttpStatusCode.Forbidden);
        Assert.Equal("ByteQuotaExceeded", bytes.GetProperty("error").GetString());
        Assert.Contains("at most 100 bytes of node data (--quota-bytes)", bytes.GetProperty("message").GetString(), StringComparison.Ordinal);

        await Expect(await shop.PostAsync(_cluster.Url(node, "/v1/sessions"), Json("""{"ttlMs":30000}""")), HttpStatusCode.Created);
        await Expect(await shop.PostAsync(_cluster.Url(node, "/v1/sessions"), Json("""{"ttlMs":30000}""")), HttpStatusCode.Created);
        var sessions = await Expect(await shop.PostAsync(_cluster.Url(node, "/v1/sessions"), Json("""{"ttlMs":30000}""")), HttpStatusCode.Forbidden);
        Assert.Equal("SessionQuotaExceeded", sessions.GetProperty("error").GetString());
        Assert.Contains("at most 2 live sessions (--quota-sessions)", sessions.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Freeing a node gives its place back; a transaction over the quota names the op and applies nothing.
        await Expect(await shop.DeleteAsync(_cluster.Url(node, "/v1/nodes/services/orders/instances/i3")), HttpStatusCode.OK);
        var txn = await Expect(await shop.PostAsync(_cluster.Url(node, "/v1/txn"), Json(
            """{"ops":[{"op":"create","path":"/services/orders/instances/t0"},{"op":"create","path":"/services/orders/instances/t1"}]}""")), HttpStatusCode.Forbidden);
        Assert.Equal("NodeQuotaExceeded", txn.GetProperty("error").GetString());
        Assert.Equal(1, txn.GetProperty("failedOp").GetInt32());
        Assert.StartsWith("op 1: namespace 'shop' may hold at most 4 nodes", txn.GetProperty("message").GetString(), StringComparison.Ordinal);
        await Expect(await admin.GetAsync(_cluster.Url(node, "/v1/nodes/services/orders/instances/t0")), HttpStatusCode.NotFound);

        // The admin token is not limited.
        for (var i = 0; i < 6; i++)
            await Expect(await admin.PostAsync(_cluster.Url(node, $"/v1/nodes/services/orders/instances/admin{i}"), new ByteArrayContent(new byte[200])), HttpStatusCode.Created);
        for (var i = 0; i < 3; i++)
            await Expect(await admin.PostAsync(_cluster.Url(node, "/v1/sessions"), Json("""{"ttlMs":30000}""")), HttpStatusCode.Created);

        // Usage is replicated state: every node counts the same.
        var index = (await Expect(await admin.PutAsync(_cluster.Url(_cluster.Nodes.First(n => n!.IsLeader)!, "/v1/nodes/services/orders"), Empty()), HttpStatusCode.OK)).GetProperty("index").GetInt64();
        await _cluster.WaitAppliedAsync(index);
        foreach (var member in _cluster.Nodes)
            Assert.Equal(new Core.Quotas.QuotaUsage(3, 0, 2), member!.Store.Read(s => s.UsageOf("shop")));
    }

    private HttpClient Client(string token)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static ByteArrayContent Empty() => new([]);

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private async Task<JsonElement> Expect(HttpResponseMessage response, HttpStatusCode status) => await _cluster.JsonAsync(response, status);
}
