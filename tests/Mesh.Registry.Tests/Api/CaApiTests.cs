using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Api;

/// <summary>The CA endpoints and the /mesh/ca guard, on a real 3-node cluster.</summary>
public sealed class CaApiTests : IAsyncLifetime
{
    private const string ShopToken = "shop-token-0123456789abcdef";
    private const string CatalogToken = "catalog-only-token-0123456789";
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3, o => o with
    {
        TrustDomain = "mesh.test",
        CertificateLifetime = TimeSpan.FromMinutes(10),
        JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken), JoinTokenGrant.Parse("billing/catalog=" + CatalogToken)],
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task CaRoot_IsTheSameReplicatedRootOnEveryNode()
    {
        var roots = new List<string>();
        foreach (var node in _cluster.Nodes)
        {
            var root = await WaitForRootAsync(node!);
            Assert.Equal("mesh.test", root.GetProperty("trustDomain").GetString());
            roots.Add(root.GetProperty("root").GetString()!);
        }

        Assert.Single(roots.Distinct());
        Assert.DoesNotContain("PRIVATE", roots[0], StringComparison.Ordinal);
        using var certificate = X509Certificate2.CreateFromPem(roots[0]);
        Assert.Equal("CN=Mesh Root CA mesh.test, O=Mesh", certificate.Subject);
    }

    [Fact]
    public async Task CaSign_OnAFollower_IssuesTheTokensIdentity_WithTheConfiguredLifetime()
    {
        var follower = _cluster.Follower();
        var bundle = TrustBundle.FromResponse(JsonSerializer.Deserialize((await WaitForRootAsync(follower)).GetRawText(), RegistryJson.Default.CaRootResponse)!);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", "shop", "catalog"));

        var response = await _cluster.Http.PostAsJsonAsync(_cluster.Url(follower, "/v1/ca/sign"),
            new CaSignRequest(ShopToken, "shop", "catalog", csr), RegistryJson.Default.CaSignRequest);
        var body = await _cluster.JsonAsync(response, HttpStatusCode.OK);

        var signed = JsonSerializer.Deserialize(body.GetRawText(), RegistryJson.Default.CaSignResponse)!;
        var workload = WorkloadCertificate.FromPem(signed.Certificate, signed.Chain, key);
        Assert.Equal(SpiffeId.Create("mesh.test", "shop", "catalog"), workload.Identity);
        Assert.InRange((signed.ExpiresAt - DateTimeOffset.UtcNow).TotalMinutes, 9, 10.1);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle.Roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(workload.Certificate));
    }

    [Fact]
    public async Task CaSign_RefusesWrongTokensAndBadRequests_WithJsonErrors()
    {
        var node = _cluster.Nodes[0]!;
        await WaitForRootAsync(node);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", "shop", "catalog"));

        async Task Expect(CaSignRequest request, HttpStatusCode status, string code, string? message = null)
        {
            var response = await _cluster.Http.PostAsJsonAsync(_cluster.Url(node, "/v1/ca/sign"), request, RegistryJson.Default.CaSignRequest);
            var body = await _cluster.JsonAsync(response, status);
            Assert.Equal(code, body.GetProperty("error").GetString());
            if (message is not null)
                Assert.Contains(message, body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await Expect(new CaSignRequest("wrong-token-0123456789abcdef", "shop", "catalog", csr), HttpStatusCode.Forbidden, "Forbidden", "unknown join token");
        await Expect(new CaSignRequest(ShopToken, "billing", "catalog", csr), HttpStatusCode.Forbidden, "Forbidden");
        await Expect(new CaSignRequest(CatalogToken, "billing", "ledger", csr), HttpStatusCode.Forbidden, "Forbidden");
        await Expect(new CaSignRequest(ShopToken, "shop", "catalog", "not a csr"), HttpStatusCode.BadRequest, "BadRequest");
        await Expect(new CaSignRequest(ShopToken, "shop", "bad/name", csr), HttpStatusCode.BadRequest, "BadRequest");

        var notJson = await _cluster.Http.PostAsync(_cluster.Url(node, "/v1/ca/sign"), new StringContent("{nope"));
        Assert.Equal("BadRequest", (await _cluster.JsonAsync(notJson, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        var wrongMethod = await _cluster.Http.GetAsync(_cluster.Url(node, "/v1/ca/sign"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
    }

    [Fact]
    public async Task RevokedJoinToken_GetsNoCertificateOnAnyNode_OtherTokensStillWork()
    {
        var leader = await _cluster.WaitForLeaderAsync();
        await WaitForRootAsync(leader);
        using (var timeout = new CancellationTokenSource(TestCluster.Timeout))
        {
            while (leader.Store.Read(s => s.GetChildren(RegistryCertificateAuthority.TokensPath)) is not { IsOk: true, Children.Count: 2 })
                await Task.Delay(20, timeout.Token);
        }

        // Sent to a follower, which forwards it to the leader.
        using var client = new Mesh.Registry.Client.RegistryClient(_cluster.Follower().ClientUrl.ToString());
        var revoked = await client.RevokeJoinTokenAsync(ShopToken);
        Assert.Equal(1, revoked.Removed);
        await _cluster.WaitAppliedAsync(revoked.Index);

        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", "shop", "catalog"));
        foreach (var node in _cluster.Nodes)
        {
            // Every node was started with the token's flag: the revocation still wins.
            var refused = await _cluster.Http.PostAsJsonAsync(_cluster.Url(node!, "/v1/ca/sign"),
                new CaSignRequest(ShopToken, "shop", "catalog", csr), RegistryJson.Default.CaSignRequest);
            var body = await _cluster.JsonAsync(refused, HttpStatusCode.Forbidden);
            Assert.Contains("revoked", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var other = await _cluster.Http.PostAsJsonAsync(_cluster.Url(leader, "/v1/ca/sign"),
            new CaSignRequest(CatalogToken, "billing", "catalog", WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", "billing", "catalog"))),
            RegistryJson.Default.CaSignRequest);
        await _cluster.JsonAsync(other, HttpStatusCode.OK);

        Assert.Equal(0, (await client.RevokeJoinTokenAsync(ShopToken)).Removed);
        var unknown = await Assert.ThrowsAsync<Mesh.Registry.Client.RegistryException>(() => client.RevokeJoinTokenAsync("never-issued-token-0123456789"));
        Assert.Equal("NotFound", unknown.Code);
    }

    [Fact]
    public async Task CaState_IsNeverServedThroughTheNodeApi()
    {
        var node = _cluster.Follower();
        await WaitForRootAsync(node);
        var http = _cluster.Http;

        async Task Forbidden(HttpResponseMessage response)
        {
            var body = await _cluster.JsonAsync(response, HttpStatusCode.Forbidden);
            Assert.Equal("Forbidden", body.GetProperty("error").GetString());
        }

        await Forbidden(await http.GetAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/material")));
        await Forbidden(await http.GetAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/material?raw=true&stale=true")));
        await Forbidden(await http.GetAsync(_cluster.Url(node, "/v1/nodes/mesh/ca?children=true")));
        await Forbidden(await http.GetAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/tokens?children=true")));
        await Forbidden(await http.PutAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/material"), new StringContent("x")));
        await Forbidden(await http.PostAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/tokens/mine"), new StringContent("x")));
        await Forbidden(await http.DeleteAsync(_cluster.Url(node, "/v1/nodes/mesh/ca/material")));
        await Forbidden(await http.DeleteAsync(_cluster.Url(node, "/v1/nodes/mesh?recursive=true")));
        await Forbidden(await http.GetAsync(_cluster.Url(node, "/v1/watch/mesh/ca?after=0&wait=1s")));
        await Forbidden(await http.PostAsync(_cluster.Url(node, "/v1/txn"), new StringContent(
            """{"ops":[{"op":"check","path":"/mesh/ca/material","version":0}]}""")));
        await Forbidden(await http.PostAsync(_cluster.Url(node, "/v1/txn"), new StringContent(
            """{"ops":[{"op":"create","path":"/ok","data":""},{"op":"set","path":"/mesh/ca/material","data":"eA=="}]}""")));

        // A recursive watch above /mesh/ca sees everything else, but not the CA's nodes.
        var watch = await _cluster.JsonAsync(await http.GetAsync(_cluster.Url(node, "/v1/watch/?after=0&recursive=true&wait=1s")), HttpStatusCode.OK);
        var paths = watch.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("path").GetString()!).ToList();
        Assert.Contains("/mesh", paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/mesh/ca", StringComparison.Ordinal));

        // Nothing was changed, and the stored tokens are hashes.
        var material = node.Store.Read(s => s.GetNode(RegistryCertificateAuthority.MaterialPath));
        Assert.True(material.IsOk);
        Assert.Equal(0, material.Stat.Version);
        List<byte[]> ReadTokens() => node.Store.Read(s => s.GetChildren(RegistryCertificateAuthority.TokensPath).Children
            .Select(c => s.GetNode(RegistryCertificateAuthority.TokensPath + "/" + c).Data.ToArray()).ToList());
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while (ReadTokens().Count < 2)
            await Task.Delay(20, timeout.Token);
        var tokens = ReadTokens();
        Assert.Equal(2, tokens.Count);
        Assert.All(tokens, t => Assert.DoesNotContain(ShopToken, Encoding.UTF8.GetString(t), StringComparison.Ordinal));
        Assert.All(tokens, t => Assert.DoesNotContain(CatalogToken, Encoding.UTF8.GetString(t), StringComparison.Ordinal));
    }

    [Fact]
    public void JoinTokenGrant_ParsesScopes_AndRefusesShortTokensWithoutEchoingThem()
    {
        Assert.Equal(new JoinTokenScope("shop"), JoinTokenGrant.Parse("shop=" + ShopToken).Scope);
        Assert.Equal(new JoinTokenScope("shop", "catalog"), JoinTokenGrant.Parse("shop/catalog=" + ShopToken).Scope);
        var error = Assert.Throws<FormatException>(() => JoinTokenGrant.Parse("shop=short-secret"));
        Assert.DoesNotContain("short-secret", error.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => JoinTokenGrant.Parse("=" + ShopToken));
        Assert.Throws<FormatException>(() => JoinTokenGrant.Parse("sh op=" + ShopToken));
        Assert.DoesNotContain(ShopToken, JoinTokenGrant.Parse("shop=" + ShopToken).ToString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> WaitForRootAsync(RegistryNode node)
    {
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while (true)
        {
            var response = await _cluster.Http.GetAsync(_cluster.Url(node, "/v1/ca/root"), timeout.Token);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                return await _cluster.JsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("Unavailable", (await _cluster.JsonAsync(response, HttpStatusCode.ServiceUnavailable)).GetProperty("error").GetString());
            await Task.Delay(50, timeout.Token);
        }
    }
}
