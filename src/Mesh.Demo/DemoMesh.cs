using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Registry.Hosting;
using Mesh.Samples.Shop;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Demo;

/// <summary>
/// The whole demo mesh in this process, on loopback ports bound at 0 (the registry's listeners
/// are bound before its nodes start, so the members can be named by them): a 3-node registry in a temporary
/// data directory, the Shop services (frontend, catalog v1 ×2, catalog v2, inventory) each with
/// its sidecar registered in the registry, an <c>intruder</c> (a mesh service that catalog's
/// policy does not allow, so its calls are denied), and the Shop routes and policy applied.
/// Disposing it stops everything and deletes the data directory, so nothing is left behind.
/// </summary>
internal sealed class DemoMesh(Func<BoundListener>? bindListener = null) : IAsyncDisposable
{
    /// <summary>Binds one registry listener on loopback at port 0 (tests watch which sockets serve).</summary>
    private readonly Func<BoundListener> _bindListener = bindListener ?? BoundListener.Loopback;

    private readonly string _dataRoot = Path.Combine(Path.GetTempPath(), "mesh-demo-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly RegistryNode?[] _registry = new RegistryNode?[3];
    private readonly List<ShopInstance> _instances = [];
    private IReadOnlyList<ClusterMember> _members = [];

    /// <summary>The join token of namespace shop; the registry keeps only its hash.</summary>
    private readonly string _joinToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public IReadOnlyList<ShopInstance> Instances => _instances;

    public IEnumerable<RegistryNode> RegistryNodes => _registry.Where(n => n is not null)!;

    public string RegistryAddresses => string.Join(',', _members.Select(m => $"http://{m.ClientEndPoint}"));

    /// <summary>The nodes' ZooKeeper ports (open mode, loopback only), for zkCli's -server; a client given all of them finds the leader, which takes writes.</summary>
    public string ZooKeeperAddresses => string.Join(',', RegistryNodes.Select(n => n.ZooKeeperEndPoint));

    public Dictionary<string, HopStats> Stats { get; } = new(StringComparer.Ordinal)
    {
        ["frontend"] = new("frontend"),
        ["catalog v1"] = new("catalog v1"),
        ["catalog v2"] = new("catalog v2"),
        ["inventory"] = new("inventory"),
        [IntruderService] = new(IntruderService),
    };

    /// <summary>A service of namespace shop that catalog's policy does not name: every call it makes to catalog is denied (403).</summary>
    public const string IntruderService = "intruder";

    public ShopInstance Frontend => _instances.First(i => i.Service == "frontend");

    public ShopInstance Intruder => _instances.First(i => i.Service == IntruderService);

    public async Task StartAsync(Action<string> progress, CancellationToken cancellationToken)
    {
        progress($"registry: starting 3 nodes (data in {_dataRoot})");
        await StartRegistryAsync(cancellationToken);
        using (var client = new RegistryClient(RegistryAddresses))
        {
            await ApplyRoutesAsync(client, cancellationToken);
            await ApplyPoliciesAsync(client, cancellationToken);
        }

        progress($"services: starting frontend, catalog v1 (x2), catalog v2, inventory and {IntruderService}, each with a sidecar");
        foreach (var (service, version) in new[] { ("inventory", "v1"), ("catalog", "v1"), ("catalog", "v1"), ("catalog", "v2"), ("frontend", "v1"), (IntruderService, "v1") })
            _instances.Add(await StartInstanceAsync(service, version, cancellationToken));

        using var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ready.CancelAfter(TimeSpan.FromSeconds(30));
        while (!_instances.All(i => i.Sidecar.Host.IsReady))
            await Task.Delay(100, ready.Token);
    }

    /// <summary>
    /// Starts the 3 nodes. Each node's Raft and client listeners are bound on port 0 first and
    /// the members named by the addresses they got, so no port is picked and bound later.
    /// </summary>
    private async Task StartRegistryAsync(CancellationToken cancellationToken)
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => (Peer: _bindListener(), Client: _bindListener())).ToArray();
        try
        {
            _members = [.. listeners.Select((l, i) => new ClusterMember(i + 1, l.Peer.EndPoint, l.Client.EndPoint))];
            await Task.WhenAll(Enumerable.Range(1, 3).Select(id => StartRegistryNodeAsync(id, listeners[id - 1], cancellationToken)));
        }
        finally
        {
            // Each node took its sockets; what a failed start left is closed here.
            foreach (var (peer, client) in listeners)
            {
                peer.Dispose();
                client.Dispose();
            }
        }
    }

    private async Task StartRegistryNodeAsync(int id, (BoundListener Peer, BoundListener Client) listeners, CancellationToken cancellationToken)
    {
        var node = new RegistryNode(new RegistryNodeOptions
        {
            Id = id,
            Members = _members,
            DataDirectory = Path.Combine(_dataRoot, $"registry-{id}"),
            ClientEndPoint = listeners.Client.EndPoint,
            PeerListener = listeners.Peer,
            ClientListener = listeners.Client,
            LoggerFactory = NullLoggerFactory.Instance,
            JoinTokens = [Mesh.Registry.CertificateAuthority.JoinTokenGrant.Parse("shop=" + _joinToken)],
            // The ZooKeeper port, open (no auth) as fits a demo on loopback: zkCli and Curator apps work against it.
            ZooKeeper = new Mesh.Registry.ZooKeeper.ZooKeeperOptions { EndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), Open = true },
        });
        await node.StartAsync(cancellationToken);
        _registry[id - 1] = node;
    }

    /// <summary>Applies samples/Shop/mesh/routes.yaml exactly as <c>mesh ctl apply</c> would.</summary>
    private static async Task ApplyRoutesAsync(RegistryClient client, CancellationToken cancellationToken)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "samples", "shop-routes.yaml");
        foreach (var route in RouteFile.Parse(await File.ReadAllTextAsync(file, cancellationToken), file))
            await client.CreateAsync($"{ServicePaths.RoutesRoot}/{route.Name}", Encoding.UTF8.GetBytes(route.Yaml), createParents: true, cancellationToken: cancellationToken);
    }

    /// <summary>Only frontend may call catalog (samples/Shop/mesh/policies.yaml).</summary>
    private static async Task ApplyPoliciesAsync(RegistryClient client, CancellationToken cancellationToken)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "samples", "shop-policies.yaml");
        await client.CreateAsync($"{ServicePaths.PoliciesRoot}/catalog", await File.ReadAllBytesAsync(file, cancellationToken), createParents: true, cancellationToken: cancellationToken);
    }

    private async Task<ShopInstance> StartInstanceAsync(string service, string version, CancellationToken cancellationToken)
    {
        var number = _instances.Count(i => i.Service == service && i.Version == version) + 1;
        var stats = Stats[service == "catalog" ? $"catalog {version}" : service];
        // The app first, on port 0: its sidecar needs the address it got. Its own downstream calls
        // go through that sidecar, whose address it reads at the first call.
        MeshSidecar? sidecar = null;
        var app = ShopApp.Build(new ShopOptions
        {
            Service = service,
            Version = version,
            Url = "http://127.0.0.1:0",
            OutboundSource = () => sidecar?.Host.OutboundUrl.ToString() ?? throw new InvalidOperationException("the sidecar has not started"),
            OnRequest = stats.Record,
            OwnsProcessSignals = false,
        });
        await app.StartAsync(cancellationToken);
        var appUrl = new Uri(app.Urls.Single());
        try
        {
            var config = SidecarConfigLoader.Parse($"""
                service:
                  name: {service}
                  namespace: shop
                  version: {version}
                  instanceId: {service}-{version}-{number}
                app:
                  address: http://{appUrl.Authority}
                  healthPath: /healthz
                registry:
                  addresses: [{RegistryAddresses}]
                  sessionTtl: 3s
                listeners:
                  outbound: 127.0.0.1:0
                  inbound: 127.0.0.1:0
                  admin: 127.0.0.1:0
                drainTime: 500ms
                tls:
                  mode: strict
                  joinToken: {_joinToken}
                """, $"{service}-{version}-{number}.yaml");
            var started = new MeshSidecar(config, NullLoggerFactory.Instance, new SidecarHostOptions { ConfigureLogging = l => l.ClearProviders() });
            try
            {
                await started.StartAsync(cancellationToken);
            }
            catch
            {
                await started.DisposeAsync();
                throw;
            }
            sidecar = started;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new ShopInstance(service, version, number, app, sidecar, appUrl);
    }

    /// <summary>Chaos: kills the registry leader (as kill -9 would: no goodbye). Returns its id.</summary>
    public async Task<int?> KillRegistryLeaderAsync(CancellationToken cancellationToken)
    {
        // Between elections there is no leader for a moment: wait for one rather than skip the kill.
        var leader = _registry.FirstOrDefault(n => n is { IsLeader: true });
        for (var waited = 0; leader is null && waited < 50; waited++)
        {
            await Task.Delay(100, cancellationToken);
            leader = _registry.FirstOrDefault(n => n is { IsLeader: true });
        }

        if (leader is null)
            return null;
        _registry[leader.Id - 1] = null;
        await leader.DisposeAsync();
        return leader.Id;
    }

    /// <summary>
    /// Chaos: a catalog v1 instance crashes. Its app stops at once and its sidecar dies without a
    /// goodbye: listeners closed, registry session abandoned, instance not deregistered, so the
    /// instance stays listed until its session expires and callers get refused connections
    /// meanwhile (their retries and outlier ejection route around it).
    /// </summary>
    public async Task<ShopInstance?> KillCatalogInstanceAsync()
    {
        var victim = _instances.LastOrDefault(i => i.Service == "catalog" && i.Version == "v1" && !i.Killed);
        if (victim is null)
            return null;
        victim.Killed = true;
        await Task.WhenAll(
            victim.App.StopAsync(new CancellationToken(canceled: true)), // no graceful shutdown: a crash
            victim.Sidecar.CrashAsync());
        return victim;
    }

    /// <summary>Waits until the registry no longer lists <paramref name="instance"/> (its session expired); false if it is still there at the deadline.</summary>
    public async Task<bool> WaitUntilUnlistedAsync(ShopInstance instance, TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var client = new RegistryClient(RegistryAddresses);
        var path = ServicePaths.Instance(instance.Service, $"{instance.Service}-{instance.Version}-{instance.Number}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        try
        {
            while (true)
            {
                try
                {
                    if (!await client.ExistsAsync(path, timeout.Token))
                        return true;
                }
                catch (Exception e) when (e is RegistryException or HttpRequestException)
                {
                    // No leader for a moment: ask again.
                }

                await Task.Delay(250, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Sidecars drain side by side, then the apps and the registry go.
        await Task.WhenAll(_instances.Select(async i =>
        {
            await i.Sidecar.DisposeAsync();
            await i.App.DisposeAsync();
        }));
        await Task.WhenAll(_registry.Where(n => n is not null).Select(n => n!.DisposeAsync().AsTask()));

        try
        {
            Directory.Delete(_dataRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One Shop app and its sidecar.</summary>
internal sealed record ShopInstance(string Service, string Version, int Number, WebApplication App, MeshSidecar Sidecar, Uri AppUrl)
{
    public bool Killed { get; set; }

    public string Name => $"{Service} {Version} #{Number}";
}
