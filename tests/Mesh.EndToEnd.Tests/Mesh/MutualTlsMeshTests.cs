using System.Net;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Security;
using Microsoft.AspNetCore.Http;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>
/// mTLS end to end: a real 3-node registry is the CA, sidecars get certificates with join tokens,
/// talk to each other over mutual TLS 1.3 and enforce authorization policies from the registry.
/// </summary>
public sealed class MutualTlsMeshTests
{
    private const string FrontendId = "spiffe://mesh.local/ns/shop/sa/frontend";

    /// <summary>An app that answers with its name and the caller identity its sidecar vouched for.</summary>
    private static RequestDelegate EchoCaller(string service) =>
        context => context.Response.WriteAsync($"{service} caller={context.Request.Headers[SidecarSecurity.CallerHeader]}");

    [Fact]
    public async Task StrictSidecars_TalkOverMutualTls13_AndTheAppSeesTheVerifiedCaller()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken), handler: EchoCaller("catalog"));

        using var http = MeshFixture.Through(frontend, "catalog");
        // A caller cannot forge its identity: the inbound sidecar replaces the header.
        http.DefaultRequestHeaders.Add(SidecarSecurity.CallerHeader, "spiffe://mesh.local/ns/shop/sa/admin");
        var body = await RetryUntilOkAsync(http, "/items");

        Assert.Equal($"catalog caller={FrontendId}", body);
        Assert.NotNull(frontend.CertificateExpiresAt);
        Assert.InRange((frontend.CertificateExpiresAt!.Value - DateTimeOffset.UtcNow).TotalHours, 23, 24.1);
        var tls = (await ConfigDump.ReadAsync(catalog.Host.AdminUrl)).Tls;
        Assert.Equal("strict", tls.Mode);
        Assert.Equal("spiffe://mesh.local/ns/shop/sa/catalog", tls.Identity);
        Assert.Equal("mesh.local", tls.TrustDomain);
        Assert.True(tls.CertificateExpiresInSeconds > 3600);
        var inbound = tls.InboundRequests!;
        Assert.True(inbound.Tls13 >= 1);
        Assert.Equal(0, inbound.Plaintext);
        Assert.Equal(0, inbound.OtherTls);
        // Sidecar to sidecar is HTTP/2, negotiated by ALPN.
        Assert.Equal(inbound.Tls13, inbound.Http2);
        // The instance told callers which namespace its certificate is for.
        Assert.Equal("shop", catalog.Instance!.Labels["namespace"]);
    }

    [Fact]
    public async Task WrongJoinToken_GetsNoCertificate_AndTheSidecarDoesNotStart()
    {
        await using var mesh = await MeshFixture.StartAsync();

        var unknown = await Assert.ThrowsAsync<SidecarStartupException>(() =>
            mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls(token: "not-a-real-token-0123456789")));
        Assert.Contains("refused to issue a certificate for spiffe://mesh.local/ns/shop/sa/frontend", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("unknown join token", unknown.Message, StringComparison.Ordinal);

        // A real token, used for a service it does not cover.
        var scoped = await Assert.ThrowsAsync<SidecarStartupException>(() =>
            mesh.AddServiceAsync("billing", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken)));
        Assert.Contains("not service 'shop/billing'", scoped.Message, StringComparison.Ordinal);

        using var client = mesh.Client();
        Assert.Empty(await client.ListServicesAsync());
    }

    [Fact]
    public async Task PolicyPushedToTheRegistry_DeniesThenAllowsFrontendToCatalog()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(), handler: EchoCaller("catalog"));
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilOkAsync(http, "/");

        using var client = mesh.Client();
        await client.CreateAsync("/config/policies/catalog", Encoding.UTF8.GetBytes("""
            service: catalog
            rules:
              - name: no-frontend
                action: deny
                from: [shop/frontend]
              - name: health
                action: allow
                paths: [/healthz]
            """), createParents: true);
        var denied = await RetryUntilStatusAsync(http, HttpStatusCode.Forbidden);
        Assert.Equal("denied by rule 'no-frontend' of service 'catalog'", denied.Headers.GetValues(SidecarSecurity.DeniedReasonHeader).Single());

        await client.SetAsync("/config/policies/catalog", """
            service: catalog
            rules:
              - name: storefront
                action: allow
                from: ["spiffe://mesh.local/ns/shop/sa/frontend"]
                methods: [GET]
            """);
        using var allowed = await RetryUntilStatusAsync(http, HttpStatusCode.OK);
        Assert.Equal($"catalog caller={FrontendId}", await allowed.Content.ReadAsStringAsync());
        using var post = await http.PostAsync("/", new StringContent("x"));
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        Assert.Contains("no rule of service 'catalog' allows", post.Headers.GetValues(SidecarSecurity.DeniedReasonHeader).Single(), StringComparison.Ordinal);

        // An invalid push keeps the last good policy.
        await client.SetAsync("/config/policies/catalog", "service: catalog\nrules:\n  - action: permit\n");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!catalog.PolicyErrors.ContainsKey("catalog"))
            await Task.Delay(50, timeout.Token);
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task StrictInbound_RefusesPlaintextAndCertificateLessClients_AndOutboundRefusesAnImpostor()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, billing) = await mesh.AddServiceAsync("billing", @namespace: "shop", extraYaml: MeshFixture.Tls(), handler: EchoCaller("billing"));
        var port = billing.Host.InboundUrl.Port;

        using (var plaintext = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) })
            await Assert.ThrowsAsync<HttpRequestException>(() => plaintext.GetAsync($"http://127.0.0.1:{port}/"));
        using (var anonymous = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        })
        { Timeout = TimeSpan.FromSeconds(10) })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync($"https://127.0.0.1:{port}/"));
        }

        // "inventory" is statically pointed at billing's listener: billing's certificate is valid, but
        // it is not inventory's, so the frontend's sidecar refuses the connection.
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls() + $$"""
            endpoints:
              inventory:
                - { id: impostor, address: 127.0.0.1, port: {{port}} }
            """);
        using var toImpostor = MeshFixture.Through(frontend, "inventory");
        using var refused = await toImpostor.GetAsync("/");
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal("upstream-unavailable", refused.Headers.GetValues("x-mesh-error").Single());

        using var toBilling = MeshFixture.Through(frontend, "billing");
        Assert.Equal($"billing caller={FrontendId}", await RetryUntilOkAsync(toBilling, "/"));
    }

    [Fact]
    public async Task FiveSecondCertificates_RotateUnderContinuousLoad_WithNoFailedRequest()
    {
        await using var mesh = await MeshFixture.StartAsync(o => o with { CertificateLifetime = TimeSpan.FromSeconds(5) });
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(), handler: EchoCaller("catalog"));
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilOkAsync(http, "/");
        var rotationsBefore = (frontend.Security!.CertificateRotations, catalog.Security!.CertificateRotations);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(12));
        var ok = 0;
        var failures = new List<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync("/", CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.IsSuccessStatusCode && body == $"catalog caller={FrontendId}")
                        Interlocked.Increment(ref ok);
                    else
                        lock (failures) failures.Add($"{(int)response.StatusCode} {body}");
                }
                catch (HttpRequestException e)
                {
                    lock (failures) failures.Add(e.Message);
                }
            }
        })).ToArray();
        await Task.WhenAll(load);

        Assert.Empty(failures);
        Assert.True(ok > 100, $"only {ok} requests completed");
        Assert.True(frontend.Security.CertificateRotations - rotationsBefore.Item1 >= 3, $"frontend rotated {frontend.Security.CertificateRotations - rotationsBefore.Item1} times");
        Assert.True(catalog.Security.CertificateRotations - rotationsBefore.Item2 >= 3, $"catalog rotated {catalog.Security.CertificateRotations - rotationsBefore.Item2} times");
        Assert.True(catalog.CertificateExpiresAt > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task CaMaterial_IsRefusedByTheNodeApi_OnEveryNode()
    {
        await using var mesh = await MeshFixture.StartAsync();
        using var client = mesh.Client();
        await client.GetCaRootAsync(); // the CA exists

        foreach (var node in mesh.Cluster.Nodes)
        {
            using var response = await mesh.Cluster.Http.GetAsync(mesh.Cluster.Url(node!, "/v1/nodes/mesh/ca/material"));
            var body = await mesh.Cluster.JsonAsync(response, HttpStatusCode.Forbidden);
            Assert.Equal("Forbidden", body.GetProperty("error").GetString());
        }

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetAsync("/mesh/ca/material"));
        Assert.Equal(HttpStatusCode.Forbidden, error.Status);
    }

    private static async Task<string> RetryUntilOkAsync(HttpClient http, string path)
    {
        using var response = await RetryUntilStatusAsync(http, HttpStatusCode.OK, path);
        return await response.Content.ReadAsStringAsync();
    }

    private static Task<HttpResponseMessage> RetryUntilStatusAsync(HttpClient http, HttpStatusCode status, string path = "/") =>
        Eventually.ObjectAsync(async () =>
        {
            var response = await http.GetAsync(path);
            if (response.StatusCode == status)
                return response;
            response.Dispose();
            return null;
        }, $"GET {path} never answered {(int)status}", TimeSpan.FromSeconds(20));
}
