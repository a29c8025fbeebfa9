using System.Net;
using System.Text;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Telemetry;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>
/// Metrics of a real mTLS pair (certificates from the registry's CA), read the way Prometheus reads
/// them: an HTTP scrape of each sidecar's /metrics.
/// </summary>
public sealed class MutualTlsMetricsTests
{
    [Fact]
    public async Task DeniedCaller_InboundScrapeCountsDenialsCallerAndCertificateExpiry()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken));
        using var http = MeshFixture.Through(frontend, "catalog");

        // Allowed first: count every 200 the frontend's app got from catalog.
        var ok = 0;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (ok < 3)
            {
                using var response = await http.GetAsync("/items", timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                    ok++;
                else
                    await Task.Delay(100, timeout.Token);
            }
        }

        using var client = mesh.Client();
        await client.CreateAsync("/config/policies/catalog", Encoding.UTF8.GetBytes("""
            service: catalog
            rules:
              - name: no-frontend
                action: deny
                from: [shop/frontend]
            """), createParents: true);
        // Until catalog's sidecar has the policy, requests still pass; from the first 403 on, all are denied.
        var denied = 0;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (denied == 0)
            {
                using var response = await http.GetAsync("/items", timeout.Token);
                if (response.StatusCode == HttpStatusCode.Forbidden)
                    denied++;
                else if (response.StatusCode == HttpStatusCode.OK)
                    ok++;
                else
                    await Task.Delay(100, timeout.Token);
            }
        }
        for (var i = 0; i < 4; i++)
        {
            using var response = await http.GetAsync("/items");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            denied++;
        }

        var inbound = await ScrapeAsync(catalog);
        Assert.Equal(denied, Sum(inbound, "mesh_sidecar_authz_denied_total", ("service", "catalog"), ("rule", "no-frontend")));
        Assert.Equal(ok, Sum(inbound, "http_server_request_duration_seconds_count", ("destination_service", "catalog"), ("caller", "frontend"), ("status_class", "2xx")));
        Assert.Equal(0, Sum(inbound, "http_server_request_duration_seconds_count", ("destination_service", "catalog"), ("caller", "unknown")));

        // The certificate the registry's CA issued: present, positive, never more than the CA's TTL.
        var ttl = mesh.Cluster.OptionsOf(1).CertificateLifetime.TotalSeconds;
        var expiry = Assert.Single(inbound, s => s.Name == "mesh_sidecar_certificate_expiry_seconds").Value;
        Assert.InRange(expiry, 1, ttl);

        // Each sidecar exports only its own security counters: the caller's scrape shows no denial.
        var outbound = await ScrapeAsync(frontend);
        Assert.Equal(0, Sum(outbound, "mesh_sidecar_authz_denied_total", ("service", "catalog")));
        Assert.InRange(Assert.Single(outbound, s => s.Name == "mesh_sidecar_certificate_expiry_seconds").Value, 1, ttl);
    }

    [Fact]
    public async Task BrokenHandshakesAndEarlyResets_OnAStrictInbound_AreCountedByKind_AndCallersStillGet200()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls());
        var (_, catalog) = await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken));
        using var http = MeshFixture.Through(frontend, "catalog");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while ((await http.GetAsync("/items", timeout.Token)).StatusCode != HttpStatusCode.OK)
                await Task.Delay(100, timeout.Token);
        }
        var port = catalog.Host.InboundUrl.Port;

        // Bounded: 40 plaintext requests to the TLS port (each a failed handshake), 40 resets before a byte.
        for (var i = 0; i < 40; i++)
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: catalog\r\n\r\n"));
            // The sidecar closes it once the handshake fails: wait for that, bounded.
            var buffer = new byte[1024];
            using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await socket.ReceiveAsync(buffer, closed.Token) > 0)
                {
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }
        for (var i = 0; i < 40; i++)
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            socket.Close();
        }

        double handshakes = 0, resets = 0;
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (!deadline.IsCancellationRequested && (handshakes < 40 || resets < 40))
            {
                var scrape = await ScrapeAsync(catalog);
                handshakes = Sum(scrape, "mesh_sidecar_connection_errors_total", ("direction", "inbound"), ("kind", "handshake"));
                resets = Sum(scrape, "mesh_sidecar_connection_errors_total", ("direction", "inbound"), ("kind", "reset_before_request"));
                await Task.Delay(100, CancellationToken.None);
            }
        }
        Assert.Equal(40, handshakes);
        Assert.Equal(40, resets);
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/items")).StatusCode);
    }

    private static async Task<List<PrometheusSample>> ScrapeAsync(MeshSidecar sidecar)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };
        using var response = await http.GetAsync(new Uri(sidecar.Host.AdminUrl, "/metrics"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics: {(int)response.StatusCode} {text}");
        return PrometheusText.Parse(text);
    }

    private static double Sum(List<PrometheusSample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Key) == l.Value)).Sum(s => s.Value);
}
