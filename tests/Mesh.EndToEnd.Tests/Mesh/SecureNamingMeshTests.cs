using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Sidecar;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Http;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>
/// Secure naming end to end, the attack of issue 17: a real 3-node registry with authentication
/// on, namespace shop's sidecars (frontend, catalog) and a sidecar of namespace bench that calls
/// itself catalog. Real Kestrel listeners, real mTLS 1.3 handshakes.
/// </summary>
public sealed class SecureNamingMeshTests
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string BenchToken = "bench-join-token-0123456789abcd";

    [Fact]
    public async Task ForeignNamespaceCatalog_IsNeverRegistered_AndAForgedRecordOfItIsRefusedAtTheHandshake()
    {
        await using var mesh = await MeshFixture.StartAsync(o => o with
        {
            ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
            JoinTokens = [.. o.JoinTokens, JoinTokenGrant.Parse("bench=" + BenchToken)],
        });
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken));
        using var admin = new RegistryClient(new RegistryClientOptions
        {
            Endpoints = [.. mesh.Cluster.Nodes.Select(n => n!.ClientUrl)],
            Token = AdminToken,
        });
        Assert.Equal("shop", (await admin.GetServiceOwnerAsync("catalog"))?.Namespace);

        // The intruder: bench's join token, service name catalog. It gets a certificate (for
        // ns/bench/sa/catalog), but the registry refuses to put it in shop's pool.
        var intruderCalls = 0;
        var (_, intruder) = await mesh.AddServiceAsync("catalog", version: "v1", @namespace: "bench", waitUntilReady: false,
            extraYaml: MeshFixture.Tls(token: BenchToken), handler: context =>
            {
                Interlocked.Increment(ref intruderCalls);
                return context.Response.WriteAsync("intruder");
            });
        Assert.Equal("spiffe://mesh.local/ns/bench/sa/catalog", intruder.Security!.Identity.ToString());
        using var http = MeshFixture.Through(frontend, "catalog");
        Assert.Equal("catalog/v1", await RetryUntilOkAsync(http));
        await Task.Delay(TimeSpan.FromSeconds(1)); // several registration attempts of the intruder (every 500 ms)
        var instances = (await admin.GetServiceAsync("catalog")).Instances;
        Assert.Equal([catalog.Instance!.Id], instances.Select(i => i.Id));
        Assert.False(intruder.Host.IsReady);

        // An admin (or anyone with an admin token) forges an instance of shop's catalog pointing at
        // the intruder's sidecar, and even labels it namespace bench: the caller goes by the owner.
        var forged = JsonSerializer.SerializeToUtf8Bytes(new
        {
            address = "127.0.0.1",
            port = intruder.Host.InboundUrl.Port,
            weight = 100,
            version = "v1",
            labels = new Dictionary<string, string> { ["namespace"] = "bench" },
        });
        await admin.CreateAsync(ServicePaths.Instance("catalog", "forged"), forged);
        using (var seen = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (EndpointsOf(await ConfigDumpAsync(frontend), "catalog").GetArrayLength() < 2)
                await Task.Delay(50, seen.Token);
        }

        // Every call is answered by shop's catalog: a handshake with the forged endpoint fails like
        // a refused connection (retried on the other endpoint, then the forged one is ejected).
        for (var i = 0; i < 40; i++)
        {
            using var response = await http.GetAsync("/items");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("catalog/v1", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(0, intruderCalls);

        var dump = await ConfigDumpAsync(frontend);
        var mismatches = dump.GetProperty("tls").GetProperty("peerIdentityMismatches").GetInt64();
        Assert.True(mismatches >= 1, "the frontend's sidecar never refused the forged endpoint");
        var endpoints = EndpointsOf(dump, "catalog").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!);
        Assert.True(endpoints["forged"].GetProperty("failures").GetInt64() >= 1);
        Assert.Equal(0, endpoints[catalog.Instance.Id].GetProperty("failures").GetInt64());
        Assert.True(endpoints[catalog.Instance.Id].GetProperty("requests").GetInt64() >= 40);

        var metrics = await ScrapeAsync(frontend);
        Assert.Equal(mismatches, metrics.Where(s => s.Name == "mesh_sidecar_tls_peer_identity_mismatch_total"
            && s.Label("service") == "catalog" && s.Label("peer_namespace") == "bench").Sum(s => s.Value));
    }

    [Fact]
    public async Task AnotherNamespacesService_IsReachedWithItsOwnersIdentity()
    {
        const string FinanceToken = "finance-join-token-0123456789ab";
        await using var mesh = await MeshFixture.StartAsync(o => o with
        {
            ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
            JoinTokens = [.. o.JoinTokens, JoinTokenGrant.Parse("finance=" + FinanceToken)],
        });
        // ledger's first registration claims the name for finance; shop's frontend then expects
        // spiffe://mesh.local/ns/finance/sa/ledger from it, because the owner record says so.
        await mesh.AddServiceAsync("ledger", @namespace: "finance", extraYaml: MeshFixture.Tls(token: FinanceToken));
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        using var http = MeshFixture.Through(frontend, "ledger");

        Assert.Equal("ledger/v1", await RetryUntilOkAsync(http));
        Assert.Equal(0, (await ConfigDumpAsync(frontend)).GetProperty("tls").GetProperty("peerIdentityMismatches").GetInt64());
    }

    private static JsonElement EndpointsOf(JsonElement dump, string service) =>
        dump.GetProperty("clusters").EnumerateArray().FirstOrDefault(c => c.GetProperty("service").GetString() == service) is { ValueKind: JsonValueKind.Object } cluster
            ? cluster.GetProperty("endpoints")
            : JsonDocument.Parse("[]").RootElement;

    private static async Task<JsonElement> ConfigDumpAsync(MeshSidecar sidecar)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(sidecar.Host.AdminUrl, "/config_dump"))).RootElement.Clone();
    }

    private static async Task<List<PrometheusSample>> ScrapeAsync(MeshSidecar sidecar)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };
        return PrometheusText.Parse(await http.GetStringAsync(new Uri(sidecar.Host.AdminUrl, "/metrics")));
    }

    private static async Task<string> RetryUntilOkAsync(HttpClient http)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            using var response = await http.GetAsync("/", timeout.Token);
            if (response.StatusCode == HttpStatusCode.OK)
                return await response.Content.ReadAsStringAsync();
            await Task.Delay(100, timeout.Token);
        }
    }
}
