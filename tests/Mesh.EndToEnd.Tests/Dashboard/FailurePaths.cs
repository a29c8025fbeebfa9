// The paths a healthy demo never takes, so that every series the Grafana dashboard charts exists
// for the Prometheus test: a plaintext sidecar whose upstreams fail (proxy errors, outlier
// ejections, retries until the budget is spent) or are rate limited, and a permissive mTLS sidecar called
// in plaintext, joined to a one-node registry that snapshots every few entries.
using System.Net;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Hosting;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.EndToEnd.Tests.Dashboard;

internal sealed class FailurePaths : IAsyncDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "mesh-failure-paths-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<IAsyncDisposable> _owned = [];

    /// <summary>host:port of the two sidecars' admin listeners.</summary>
    public List<string> Sidecars { get; } = [];

    /// <summary>host:port of the registry node's client listener.</summary>
    public string Registry { get; private set; } = "";

    public static async Task<FailurePaths> StartAsync()
    {
        var paths = new FailurePaths();
        try
        {
            await paths.StartFailingUpstreamsAsync();
            await paths.StartPermissiveSidecarAsync();
            await paths.StartOverflowingSidecarAsync();
            return paths;
        }
        catch
        {
            await paths.DisposeAsync();
            throw;
        }
    }

    private async Task StartFailingUpstreamsAsync()
    {
        var good = await Own(TestApp.NamedAsync("ok"));
        var bad = await Own(TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        }));
        var config = SidecarConfigLoader.Parse($$"""
            service: { name: failing-caller }
            listeners: { outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 }
            app: { address: "http://127.0.0.1:{{good.Port}}" }
            defaults:
              retries: { attempts: 2, retryOn: [503], baseDelay: 0ms }
              retryBudget: { ratio: 0, minRetriesPerSecond: 1, window: 1s }
            endpoints:
              unwell:
                - { id: bad, address: 127.0.0.1, port: {{bad.Port}} }
              spent:
                - { id: bad, address: 127.0.0.1, port: {{bad.Port}} }
              limited:
                - { id: good, address: 127.0.0.1, port: {{good.Port}} }
            routes:
              - name: unwell
                match: { hosts: [unwell] }
                service: unwell
                outlierDetection: { consecutiveFailures: 1 }
              - name: spent
                match: { hosts: [spent] }
                service: spent
                outlierDetection: { consecutiveFailures: 0 }
              - name: limited
                match: { hosts: [limited] }
                service: limited
                rateLimit: { kind: fixedWindow, limit: 1, window: 10m }
            """);
        var sidecar = await Own(Start(new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = _ => { } })));
        Sidecars.Add(sidecar.AdminUrl.Authority);
        using var http = new HttpClient { BaseAddress = sidecar.OutboundUrl, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var host in new[] { "unwell", "spent", "limited", "nowhere" })
        {
            for (var i = 0; i < 5; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Host = host } };
                using var _ = await http.SendAsync(request);
            }
        }
    }

    // More label combinations than its series limit: the rest land in the overflow series
    // (docs/observability.md, "Series limits and otel_metric_overflow").
    private async Task StartOverflowingSidecarAsync()
    {
        var app = await Own(TestApp.NamedAsync("ok"));
        var config = SidecarConfigLoader.Parse($$"""
            service: { name: crowded-caller }
            listeners: { outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 }
            telemetry: { metrics: { cardinalityLimit: 1 } }
            endpoints:
              first: [ { id: app, address: 127.0.0.1, port: {{app.Port}} } ]
              second: [ { id: app, address: 127.0.0.1, port: {{app.Port}} } ]
              third: [ { id: app, address: 127.0.0.1, port: {{app.Port}} } ]
            """);
        var sidecar = await Own(Start(new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = _ => { } })));
        Sidecars.Add(sidecar.AdminUrl.Authority);
        using var http = new HttpClient { BaseAddress = sidecar.OutboundUrl, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var host in new[] { "first", "second", "third" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Host = host } };
            using var _ = await http.SendAsync(request);
        }
    }

    private async Task StartPermissiveSidecarAsync()
    {
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var node = new RegistryNode(new RegistryNodeOptions
        {
            Id = 1,
            DataDirectory = Path.Combine(_data, "registry"),
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            LoggerFactory = NullLoggerFactory.Instance,
            SnapshotEvery = 5,
            JoinTokens = [JoinTokenGrant.Parse("lab=" + token)],
        });
        _owned.Add(node);
        await node.StartAsync();
        Registry = node.ClientUrl.Authority;

        var app = await Own(TestApp.NamedAsync("ok"));
        var config = SidecarConfigLoader.Parse($"""
            service: {"{"} name: permissive, namespace: lab {"}"}
            app: {"{"} address: "http://127.0.0.1:{app.Port}" {"}"}
            registry: {"{"} addresses: [{node.ClientUrl.ToString().TrimEnd('/')}], sessionTtl: 3s {"}"}
            listeners: {"{"} outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 {"}"}
            drainTime: 0ms
            tls: {"{"} mode: permissive, joinToken: {token} {"}"}
            """);
        var sidecar = new MeshSidecar(config, NullLoggerFactory.Instance, new SidecarHostOptions { ConfigureLogging = _ => { } });
        _owned.Add(sidecar);
        await sidecar.StartAsync(CancellationToken.None);
        Sidecars.Add(sidecar.Host.AdminUrl.Authority);

        using var plaintext = new HttpClient { BaseAddress = new UriBuilder(sidecar.Host.InboundUrl) { Scheme = "http" }.Uri, Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < 3; i++)
        {
            using var _ = await plaintext.GetAsync("/");
        }

        // Enough writes for a snapshot or two (one every 5 entries).
        using var http = new HttpClient { BaseAddress = node.ClientUrl, Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < 12; i++)
        {
            using var _ = await http.PostAsync($"/v1/nodes/failure-paths/n{i}?parents=true", new StringContent("x"));
        }
    }

    private static async Task<SidecarHost> Start(SidecarHost host)
    {
        await host.StartAsync(CancellationToken.None);
        return host;
    }

    private async Task<T> Own<T>(Task<T> starting) where T : IAsyncDisposable
    {
        var started = await starting;
        _owned.Add(started);
        return started;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
            await _owned[i].DisposeAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // DirectoryNotFoundException too: nothing was written
        }
    }
}
