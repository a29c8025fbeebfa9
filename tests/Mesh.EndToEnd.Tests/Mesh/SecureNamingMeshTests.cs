using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Hosting;
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
        await Eventually.TrueAsync(async () => EndpointsOf(await ConfigDump.ReadAsync(frontend.Host.AdminUrl), "catalog").Count >= 2,
            "the frontend never saw the forged endpoint", TimeSpan.FromSeconds(20));

        // Every call is answered by shop's catalog: a handshake with the forged endpoint fails like
        // a refused connection (retried on the other endpoint, then the forged one is ejected).
        for (var i = 0; i < 40; i++)
        {
            using var response = await http.GetAsync("/items");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("catalog/v1", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(0, intruderCalls);

        var dump = await ConfigDump.ReadAsync(frontend.Host.AdminUrl);
        var mismatches = dump.Tls.PeerIdentityMismatches ?? 0;
        Assert.True(mismatches >= 1, "the frontend's sidecar never refused the forged endpoint");
        var endpoints = dump.Cluster("catalog");
        Assert.True(endpoints.Endpoint("forged").Failures >= 1);
        Assert.Equal(0, endpoints.Endpoint(catalog.Instance.Id).Failures);
        Assert.True(endpoints.Endpoint(catalog.Instance.Id).Requests >= 40);

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
        Assert.Equal(0, (await ConfigDump.ReadAsync(frontend.Host.AdminUrl)).Tls.PeerIdentityMismatches);
    }

    private static IReadOnlyList<ConfigDumpEndpoint> EndpointsOf(ConfigDump dump, string service) =>
        dump.Clusters.FirstOrDefault(c => c.Service == service)?.Endpoints ?? [];

    private static async Task<List<PrometheusSample>> ScrapeAsync(MeshSidecar sidecar)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };
        return PrometheusText.Parse(await http.GetStringAsync(new Uri(sidecar.Host.AdminUrl, "/metrics")));
    }

    private static Task<string> RetryUntilOkAsync(HttpClient http) =>
        Eventually.ObjectAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
        }, "the mesh never answered 200", TimeSpan.FromSeconds(20));
}
