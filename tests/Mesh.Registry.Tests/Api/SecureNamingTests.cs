using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Api;

/// <summary>
/// Secure naming on a real 3-node cluster with authentication on: namespace shop's join token and
/// namespace bench's join token, and an admin token. A service name belongs to the namespace whose
/// token registered it first (or to whom an admin gave it); the other namespace is refused.
/// </summary>
public sealed class SecureNamingTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string ShopToken = "shop-join-token-0123456789abcdef";
    private const string BenchToken = "bench-join-token-0123456789abcd";
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3, o => o with
    {
        ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
        JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken), JoinTokenGrant.Parse("bench=" + BenchToken)],
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Register_SecondNamespaceSameServiceName_Is403NamingTheOwner()
    {
        using var shop = Client(ShopToken);
        await shop.CreateAsync("/services/catalog/instances/shop-1", Encoding.UTF8.GetBytes("{}"), createParents: true, cancellationToken: Timeout());

        // The hijack of issue 17: bench's token, service name catalog.
        using var bench = Client(BenchToken);
        var refused = await Assert.ThrowsAsync<RegistryException>(() =>
            bench.CreateAsync("/services/catalog/instances/intruder", Encoding.UTF8.GetBytes("{}"), createParents: true, cancellationToken: Timeout()));
        Assert.Equal("Forbidden", refused.Code);
        Assert.Contains("owned by namespace 'shop'", refused.Message, StringComparison.Ordinal);

        // The same over plain HTTP, on a follower (forwarded): 403 and the owner in the message.
        using var http = Http(BenchToken);
        using var answer = await http.PostAsync(_cluster.Url(_cluster.Follower(), "/v1/nodes/services/catalog/instances/intruder?parents=true"), new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("namespace 'shop'", await MessageOfAsync(answer), StringComparison.Ordinal);

        // Nor may bench change or delete shop's instances, or write the owner record.
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            bench.SetAsync("/services/catalog/instances/shop-1", Encoding.UTF8.GetBytes("{\"address\":\"10.0.0.66\"}"), cancellationToken: Timeout()))).Code);
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            bench.DeleteAsync("/services/catalog/instances/shop-1", cancellationToken: Timeout()))).Code);
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            bench.SetAsync("/services/catalog", new ServiceOwner("bench").ToBytes(), cancellationToken: Timeout()))).Code);

        using var admin = Client(AdminToken);
        Assert.False(await admin.ExistsAsync("/services/catalog/instances/intruder", Timeout()));
        var owner = ServiceOwner.Parse((await admin.GetAsync("/services/catalog", cancellationToken: Timeout())).Data, out _);
        Assert.Equal("shop", owner?.Namespace);
        Assert.Equal("shop", (await admin.GetServiceAsync("catalog", cancellationToken: Timeout())).Owner);
    }

    [Fact]
    public async Task Txn_IsCheckedOpByOp_AnOpOnAServiceOfAnotherNamespaceRefusesTheWhole()
    {
        using var shop = Client(ShopToken);
        await shop.CreateAsync("/services/cart/instances/a", [], createParents: true, cancellationToken: Timeout());

        using var http = Http(BenchToken);
        var txn = """{"ops":[{"op":"create","path":"/services/bench-svc/instances/a","data":"","parents":true},{"op":"create","path":"/services/cart/instances/evil","data":""}]}""";
        using var answer = await http.PostAsync(_cluster.Url(_cluster.Nodes[0]!, "/v1/txn"), new StringContent(txn, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("service 'cart' is owned by namespace 'shop'", await MessageOfAsync(answer), StringComparison.Ordinal);

        using var admin = Client(AdminToken);
        Assert.False(await admin.ExistsAsync("/services/cart/instances/evil", Timeout()));
        Assert.False(await admin.ExistsAsync("/services/bench-svc", Timeout()));

        // Its own service alone goes through, and the reply's op indexes are the client's.
        var own = """{"ops":[{"op":"create","path":"/services/bench-svc/instances/a","data":"","parents":true},{"op":"create","path":"/services/bench-svc/instances/b","data":""}]}""";
        using var ok = await http.PostAsync(_cluster.Url(_cluster.Nodes[0]!, "/v1/txn"), new StringContent(own, Encoding.UTF8, "application/json"));
        var body = await _cluster.JsonAsync(ok, HttpStatusCode.OK);
        Assert.Equal(2, body.GetProperty("results").GetArrayLength());
        Assert.Equal("/services/bench-svc/instances/a", body.GetProperty("results")[0].GetProperty("path").GetString());
        var failed = """{"ops":[{"op":"create","path":"/services/bench-svc/instances/c","data":""},{"op":"create","path":"/services/bench-svc/instances/a","data":""}]}""";
        using var conflict = await http.PostAsync(_cluster.Url(_cluster.Nodes[0]!, "/v1/txn"), new StringContent(failed, Encoding.UTF8, "application/json"));
        Assert.Equal(1, (await _cluster.JsonAsync(conflict, HttpStatusCode.Conflict)).GetProperty("failedOp").GetInt32());
    }

    [Fact]
    public async Task Claim_TwoNamespacesRacing_ExactlyOneWinsEveryTime()
    {
        using var shop = Client(ShopToken);
        using var bench = Client(BenchToken);
        using var admin = Client(AdminToken);
        for (var round = 0; round < 8; round++)
        {
            var service = $"race-{round}";
            var attempts = await Task.WhenAll(
                TryRegisterAsync(shop, service, "shop-1"), TryRegisterAsync(bench, service, "bench-1"),
                TryRegisterAsync(shop, service, "shop-2"), TryRegisterAsync(bench, service, "bench-2"));
            var owner = ServiceOwner.Parse((await admin.GetAsync(ServicePaths.Service(service), cancellationToken: Timeout())).Data, out _)!.Namespace;
            var children = (await admin.GetChildrenAsync(ServicePaths.Instances(service), cancellationToken: Timeout())).Children;
            // Both instances of the winner are in (the loser of a same-namespace race retries), none of the other.
            Assert.Equal([$"{owner}-1", $"{owner}-2"], children.Order(StringComparer.Ordinal));
            foreach (var (instance, error) in attempts)
            {
                if (instance.StartsWith(owner, StringComparison.Ordinal))
                    Assert.Null(error);
                else
                    Assert.Contains($"owned by namespace '{owner}'", error, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task AdminClaimAndTransfer_DecideWhichNamespaceMayRegister()
    {
        using var admin = Client(AdminToken);
        using var shop = Client(ShopToken);
        using var bench = Client(BenchToken);
        await admin.ClaimServiceAsync("payments", "bench", Timeout());
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            shop.CreateAsync("/services/payments/instances/a", [], createParents: true, cancellationToken: Timeout()))).Code);
        await bench.CreateAsync("/services/payments/instances/b", [], createParents: true, cancellationToken: Timeout());

        var claimedAgain = await Assert.ThrowsAsync<RegistryException>(() => admin.ClaimServiceAsync("payments", "shop", Timeout()));
        Assert.Contains("owned by namespace 'bench'", claimedAgain.Message, StringComparison.Ordinal);

        var previous = await admin.TransferServiceAsync("payments", "shop", Timeout());
        Assert.Equal("bench", previous?.Namespace);
        Assert.Equal("shop", (await admin.GetServiceOwnerAsync("payments", Timeout()))?.Namespace);
        await shop.CreateAsync("/services/payments/instances/a", [], createParents: true, cancellationToken: Timeout());
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            bench.CreateAsync("/services/payments/instances/c", [], createParents: true, cancellationToken: Timeout()))).Code);
    }

    [Fact]
    public async Task Sessions_OfAnotherNamespace_CannotBeKeptAliveClosedOrBoundTo_NorAreTheyListed()
    {
        using var shop = Client(ShopToken);
        using var bench = Client(BenchToken);
        using var admin = Client(AdminToken);
        var shopSession = await shop.OpenSessionAsync(TimeSpan.FromSeconds(30), Timeout());
        await shop.CreateAsync("/services/orders/instances/shop-1", [], CreateMode.Ephemeral, shopSession, createParents: true, cancellationToken: Timeout());

        // bench may not end shop's session (which would delete shop's endpoints), keep it alive, or hang its own nodes on it.
        var closed = await Assert.ThrowsAsync<RegistryException>(() => bench.CloseSessionAsync(shopSession, Timeout()));
        Assert.Equal("Forbidden", closed.Code);
        Assert.Contains($"session {shopSession} was not opened by namespace 'bench'", closed.Message, StringComparison.Ordinal);
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() => bench.KeepAliveAsync(shopSession, Timeout()))).Code);
        Assert.Equal("Forbidden", (await Assert.ThrowsAsync<RegistryException>(() =>
            bench.CreateAsync("/services/bench-api/instances/b-1", [], CreateMode.Ephemeral, shopSession, createParents: true, cancellationToken: Timeout()))).Code);
        using var http = Http(BenchToken);
        var txn = $$"""{"ops":[{"op":"create","path":"/services/bench-api/instances/b-2","data":"","mode":"ephemeral","session":{{shopSession}},"parents":true}]}""";
        using (var answer = await http.PostAsync(_cluster.Url(_cluster.Follower(), "/v1/txn"), new StringContent(txn, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.True(await admin.ExistsAsync("/services/orders/instances/shop-1", Timeout()));

        // The session list shows a join token its own namespace's sessions only; an admin sees all.
        var benchSession = await bench.OpenSessionAsync(TimeSpan.FromSeconds(30), Timeout());
        Assert.Equal([benchSession], await SessionIdsAsync(BenchToken));
        Assert.Contains(shopSession, await SessionIdsAsync(AdminToken));
        Assert.Contains(benchSession, await SessionIdsAsync(AdminToken));

        // Its own session it may use and close; an admin may close anyone's.
        await bench.CreateAsync("/services/bench-api/instances/b-1", [], CreateMode.Ephemeral, benchSession, createParents: true, cancellationToken: Timeout());
        await bench.KeepAliveAsync(benchSession, Timeout());
        await bench.CloseSessionAsync(benchSession, Timeout());
        await admin.CloseSessionAsync(shopSession, Timeout());
        Assert.False(await admin.ExistsAsync("/services/orders/instances/shop-1", Timeout()));
    }

    private async Task<long[]> SessionIdsAsync(string token)
    {
        using var http = Http(token);
        using var answer = await http.GetAsync(_cluster.Url(_cluster.Nodes[0]!, "/v1/sessions"));
        var body = await _cluster.JsonAsync(answer, HttpStatusCode.OK);
        return [.. body.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("id").GetInt64())];
    }

    [Fact]
    public async Task InvalidOwnerRecord_RefusesJoinTokens_AndIsNotReportedAsAnOwner()
    {
        using var admin = Client(AdminToken);
        await admin.CreateAsync("/services/broken", Encoding.UTF8.GetBytes("not json"), createParents: true, cancellationToken: Timeout());
        using var shop = Client(ShopToken);
        var refused = await Assert.ThrowsAsync<RegistryException>(() =>
            shop.CreateAsync("/services/broken/instances/a", [], createParents: true, cancellationToken: Timeout()));
        Assert.Contains("invalid owner record", refused.Message, StringComparison.Ordinal);
        Assert.Null((await admin.GetServiceAsync("broken", cancellationToken: Timeout())).Owner);
    }

    private static async Task<(string Instance, string? Error)> TryRegisterAsync(RegistryClient client, string service, string instance)
    {
        try
        {
            await client.CreateAsync(ServicePaths.Instance(service, instance), [], createParents: true, cancellationToken: Timeout());
            return (instance, null);
        }
        catch (RegistryException e) when (e.Code == "Forbidden")
        {
            return (instance, e.Message);
        }
    }

    private static async Task<string> MessageOfAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("message").GetString()!;
    }

    private RegistryClient Client(string token) => new(new RegistryClientOptions { Endpoints = [.. _cluster.Nodes.Select(n => n!.ClientUrl)], Token = token });

    private static HttpClient Http(string token)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;
}

/// <summary><c>mesh registry --service-claims admin</c>: a name nobody owns is refused until an admin claims it.</summary>
public sealed class AdminOnlyServiceClaimsTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string ShopToken = "shop-join-token-0123456789abcdef";
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1, o => o with
    {
        ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
        JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken)],
        ClaimServiceNamesOnFirstUse = false,
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Register_UnownedName_IsRefusedUntilAnAdminClaimsIt()
    {
        var endpoints = _cluster.Nodes.Select(n => n!.ClientUrl).ToArray();
        using var shop = new RegistryClient(new RegistryClientOptions { Endpoints = endpoints, Token = ShopToken });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var refused = await Assert.ThrowsAsync<RegistryException>(() =>
            shop.CreateAsync("/services/catalog/instances/a", [], createParents: true, cancellationToken: timeout.Token));
        Assert.Contains("mesh ctl owner claim catalog", refused.Message, StringComparison.Ordinal);

        using var admin = new RegistryClient(new RegistryClientOptions { Endpoints = endpoints, Token = AdminToken });
        await admin.ClaimServiceAsync("catalog", "shop", timeout.Token);
        await shop.CreateAsync("/services/catalog/instances/a", [], createParents: true, cancellationToken: timeout.Token);
    }
}
