using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Hosting;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>
/// A real mesh in one process: a 3-node registry on loopback, and apps each with a
/// <see cref="MeshSidecar"/> that registers the app and discovers the others through the registry.
/// The registry accepts the join tokens <see cref="ShopToken"/> (any service in namespace
/// <c>shop</c>) and <see cref="CatalogToken"/> (only <c>shop/catalog</c>).
/// </summary>
internal sealed class MeshFixture : IAsyncDisposable
{
    public const string ShopToken = "shop-join-token-0123456789abcdef";
    public const string CatalogToken = "catalog-join-token-0123456789abc";

    private readonly List<IAsyncDisposable> _owned = [];

    private MeshFixture(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public string RegistryAddresses => string.Join(',', Cluster.Nodes.Where(n => n is not null).Select(n => n!.ClientUrl));

    public static async Task<MeshFixture> StartAsync(Func<RegistryNodeOptions, RegistryNodeOptions>? configure = null) =>
        new(await TestCluster.StartAsync(3, o => (configure ?? (x => x))(o with
        {
            JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken), JoinTokenGrant.Parse("shop/catalog=" + CatalogToken)],
        })));

    /// <summary>The `tls:` section for a sidecar of namespace shop (use with <see cref="AddServiceAsync"/>'s <c>@namespace: "shop"</c>).</summary>
    public static string Tls(string mode = "strict", string token = ShopToken) => $"tls:\n  mode: {mode}\n  joinToken: {token}\n";

    public RegistryClient Client() => new(RegistryAddresses);

    /// <summary>Starts an app answering with its name and version, and its sidecar; waits until it is registered.</summary>
    /// <param name="waitUntilReady">False: return once the sidecar listens, registered or not (a sidecar the registry refuses to register).</param>
    public async Task<(TestApp App, MeshSidecar Sidecar)> AddServiceAsync(
        string service, string version = "v1", int weight = 100, string extraYaml = "", RequestDelegate? handler = null, string @namespace = "default",
        bool waitUntilReady = true)
    {
        var app = await TestApp.StartAsync(handler ?? (context => context.Response.WriteAsync($"{service}/{version}")));
        _owned.Add(app);
        return (app, await AddSidecarAsync(service, app.Url, version, weight, extraYaml, @namespace, waitUntilReady));
    }

    /// <summary>Starts a sidecar for an app the caller runs at <paramref name="appUrl"/>; waits until it is registered.</summary>
    public async Task<MeshSidecar> AddSidecarAsync(
        string service, Uri appUrl, string version = "v1", int weight = 100, string extraYaml = "", string @namespace = "default", bool waitUntilReady = true)
    {
        var config = SidecarConfigLoader.Parse($"""
            service:
              name: {service}
              namespace: {@namespace}
              version: {version}
              weight: {weight}
              instanceId: {service}-{version}-{appUrl.Port}
            app:
              address: {appUrl.ToString().TrimEnd('/')}
            registry:
              addresses: [{RegistryAddresses}]
              sessionTtl: 3s
            listeners:
              outbound: 127.0.0.1:0
              inbound: 127.0.0.1:0
              admin: 127.0.0.1:0
            drainTime: 200ms
            {extraYaml}
            """, $"{service}-{version}.yaml");
        var sidecar = new MeshSidecar(config, NullLoggerFactory.Instance, new SidecarHostOptions { ConfigureLogging = _ => { } });
        _owned.Add(sidecar);
        await sidecar.StartAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (waitUntilReady && !sidecar.Host.IsReady)
            await Task.Delay(50, timeout.Token);
        return sidecar;
    }

    public static HttpClient Through(MeshSidecar sidecar, string service) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = sidecar.Host.OutboundUrl,
        DefaultRequestHeaders = { Host = service },
        Timeout = TimeSpan.FromSeconds(15),
    };

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
            await _owned[i].DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
