using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>Open endpoints that do work have a small concurrency limit for callers without a token.</summary>
public sealed class AnonymousGateTests
{
    private const string ShopToken = "shop-token-0123456789abcdef";

    [Fact]
    public async Task Sign_AnonymousCallersOverTheLimit_Get429_WhileABearerCallerIsServed()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with
        {
            TrustDomain = "mesh.test",
            JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken)],
            Limits = new RegistryLimits { AnonymousConcurrency = 2 },
        });
        var node = cluster.Nodes[0]!;
        await WaitForCaAsync(cluster, node);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.test", "shop", "catalog"));

        // Two anonymous callers that send half a body and stall hold both permits.
        var stalled = new List<RawHttp>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var raw = await RawHttp.ConnectAsync(node.ClientUrl);
                stalled.Add(raw);
                await raw.SendHeadAsync("POST", "/v1/ca/sign", "Content-Type: application/json", "Content-Length: 1000");
                await raw.SendAsync("{\"token\":"u8.ToArray());
            }

            HttpResponseMessage refused;
            using (var timeout = new CancellationTokenSource(TestCluster.Timeout))
            {
                do
                {
                    await Task.Delay(20, timeout.Token);
                    refused = await cluster.Http.PostAsJsonAsync(cluster.Url(node, "/v1/ca/sign"), new CaSignRequest(ShopToken, "shop", "catalog", csr), RegistryJson.Default.CaSignRequest, timeout.Token);
                }
                while (refused.StatusCode != HttpStatusCode.TooManyRequests);
            }
            var body = await cluster.JsonAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Equal("TooManyRequests", body.GetProperty("error").GetString());
            Assert.Contains("at most 2 requests without a token", body.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains("--anonymous-concurrency", body.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("1", refused.Headers.RetryAfter?.ToString());

            // A sidecar sends its join token as the bearer: not gated, and the body needs no token.
            using var request = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, "/v1/ca/sign"))
            {
                Content = JsonContent.Create(new CaSignRequest("", "shop", "catalog", csr), RegistryJson.Default.CaSignRequest),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ShopToken);
            var signed = await cluster.JsonAsync(await cluster.Http.SendAsync(request), HttpStatusCode.OK);
            Assert.StartsWith("-----BEGIN CERTIFICATE-----", signed.GetProperty("certificate").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var raw in stalled)
                await raw.DisposeAsync();
        }

        // The stalled callers gone, their permits come back.
        using var again = new CancellationTokenSource(TestCluster.Timeout);
        HttpResponseMessage answer;
        do
        {
            await Task.Delay(20, again.Token);
            answer = await cluster.Http.PostAsJsonAsync(cluster.Url(node, "/v1/ca/sign"), new CaSignRequest(ShopToken, "shop", "catalog", csr), RegistryJson.Default.CaSignRequest, again.Token);
        }
        while (answer.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task Sign_UnknownBearerAndNoBodyToken_IsRefused403()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken)] });
        var node = cluster.Nodes[0]!;
        await WaitForCaAsync(cluster, node);
        using var key = WorkloadIdentity.CreateKey();
        var csr = WorkloadIdentity.CreateSigningRequestPem(key, SpiffeId.Create("mesh.local", "shop", "catalog"));
        using var request = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, "/v1/ca/sign"))
        {
            Content = JsonContent.Create(new CaSignRequest("", "shop", "catalog", csr), RegistryJson.Default.CaSignRequest),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-join-token-at-all-0000");
        var body = await cluster.JsonAsync(await cluster.Http.SendAsync(request), HttpStatusCode.Forbidden);
        Assert.Equal("Forbidden", body.GetProperty("error").GetString());
    }

    internal static async Task WaitForCaAsync(TestCluster cluster, RegistryNode node)
    {
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while ((await cluster.Http.GetAsync(cluster.Url(node, "/v1/ca/root"), timeout.Token)).StatusCode != HttpStatusCode.OK)
            await Task.Delay(50, timeout.Token);
    }
}
