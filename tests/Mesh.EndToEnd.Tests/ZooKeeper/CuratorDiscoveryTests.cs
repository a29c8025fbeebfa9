using System.Diagnostics;
using System.Net;
using Mesh.EndToEnd.Tests.Mesh;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.ZooKeeper;
using Microsoft.AspNetCore.Http;

namespace Mesh.EndToEnd.Tests.ZooKeeper;

/// <summary>
/// The point of the ZooKeeper port for a mesh: an app that registers itself the Apache Curator way
/// (kazoo writing Curator's JSON ServiceInstance as an ephemeral node, with a join token) is an
/// endpoint of the mesh. A real 3-node registry, a real sidecar, a real Kestrel app.
/// </summary>
public sealed class CuratorDiscoveryTests
{
    private const string Python = "/usr/bin/python3";

    [SkippableFact]
    public async Task CuratorRegisteredApp_IsListedByCtlEndpoints_GetsTrafficThroughASidecar_AndGoesWithItsSession()
    {
        const string basePath = "/services";
        RequiredTool.Check(File.Exists(Python) && await KazooInstalledAsync() ? null : $"{Python} with python3-kazoo is missing (scripts/install-test-deps.sh installs it)");
        await using var mesh = await MeshFixture.StartAsync(o => o with
        {
            ZooKeeper = new ZooKeeperOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
        });
        var leader = await mesh.Cluster.WaitForLeaderAsync();
        await WaitForCaAsync(leader);
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("legacy/curator"));
        var (_, frontend) = await mesh.AddServiceAsync("frontend");
        // Every node's port: a follower closes a connection that writes, and the client moves on to the leader.
        var zk = string.Join(',', mesh.Cluster.Nodes.Select(n => n!.ZooKeeperEndPoint));
        using var http = MeshFixture.Through(frontend, "legacy");
        // The frontend's sidecar starts watching legacy now, while it has no instance: it hears of
        // the Curator instance from its watch stream.
        using (var before = await http.GetAsync("/"))
            Assert.False(before.IsSuccessStatusCode);

        // The app registers itself with shop's join token, as a Curator app with this basePath would.
        using var registration = Register(zk, MeshFixture.ShopToken, basePath, "legacy", app.Url);
        var id = await registration.StandardOutput.ReadLineAsync();
        Assert.True(Guid.TryParse(id, out _), $"registration answered '{id}': {(id is null ? await registration.StandardError.ReadToEndAsync() : "")}");

        var (code, listed) = await MeshProcess.RunAsync("ctl", "--registry", mesh.RegistryAddresses, "endpoints", "legacy");
        Assert.True(code == 0, listed);
        Assert.Matches($@"{id}\s+127\.0\.0\.1:{app.Url.Port}\s+100\s", listed);
        Assert.Contains("registration=curator", listed);
        using var client = mesh.Client();
        // Secure naming as over HTTP: the first registration claimed the name for namespace shop.
        Assert.Equal("shop", (await client.GetServiceOwnerAsync("legacy"))?.Namespace);

        Assert.Equal("legacy/curator", await Eventually.ObjectAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }, "the frontend's sidecar routes to the Curator-registered app"));

        // A join token scoped to another service may not register legacy over ZooKeeper either.
        using (var intruder = Register(zk, MeshFixture.CatalogToken, basePath, "legacy", app.Url))
        {
            Assert.Equal("refused NoAuthError", await intruder.StandardOutput.ReadLineAsync());
            intruder.StandardInput.Close();
            await intruder.WaitForExitAsync();
        }

        // The app's ZooKeeper session ends: its instance goes, and so does the traffic.
        registration.StandardInput.Close();
        await registration.WaitForExitAsync();
        // The session's end is committed before the client exits, but the node this client reads
        // from may apply it a moment later: another client's write gives no read-your-writes.
        await Eventually.TrueAsync(async () => (await client.GetServiceAsync("legacy")).Instances.IsEmpty,
            "the Curator instance is gone once its session ended");
        await Eventually.TrueAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return !response.IsSuccessStatusCode;
        }, "the frontend's sidecar stops routing to an instance whose session ended");
    }

    /// <summary>
    /// Under another base path (as Dubbo's /dubbo), the caller's sidecar already watching the
    /// service hears of the Curator instance from its stream (the node maps BASE/NAME/ID onto
    /// /services/NAME), and of its going. The join token writes there with the same secure naming
    /// as under /services: the first registration claims the name, another scope is refused.
    /// </summary>
    [SkippableFact]
    public async Task CuratorRegisteredApp_UnderAnotherBasePath_ReachesTheSidecarAlreadyWatchingTheService_AndGoesWithItsSession()
    {
        RequiredTool.Check(File.Exists(Python) && await KazooInstalledAsync() ? null : $"{Python} with python3-kazoo is missing (scripts/install-test-deps.sh installs it)");
        await using var mesh = await MeshFixture.StartAsync(o => o with
        {
            ZooKeeper = new ZooKeeperOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
            CuratorBasePath = "/dubbo",
        });
        await WaitForCaAsync(await mesh.Cluster.WaitForLeaderAsync());
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("legacy/dubbo"));
        var (_, frontend) = await mesh.AddServiceAsync("frontend");
        using var http = MeshFixture.Through(frontend, "legacy");
        using (var before = await http.GetAsync("/"))
            Assert.False(before.IsSuccessStatusCode);

        var zk = string.Join(',', mesh.Cluster.Nodes.Select(n => n!.ZooKeeperEndPoint));
        using var registration = Register(zk, MeshFixture.ShopToken, "/dubbo", "legacy", app.Url);
        var id = await registration.StandardOutput.ReadLineAsync();
        Assert.True(Guid.TryParse(id, out _), $"registration answered '{id}': {(id is null ? await registration.StandardError.ReadToEndAsync() : "")}");
        using var client = mesh.Client();
        Assert.Equal(id, Assert.Single((await client.GetServiceAsync("legacy")).Instances).Id);
        Assert.Equal("legacy/dubbo", await Eventually.ObjectAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }, "the frontend's sidecar routes to the Curator instance under /dubbo"));
        Assert.Equal("shop", (await client.GetServiceOwnerAsync("legacy"))?.Namespace);
        using (var intruder = Register(zk, MeshFixture.CatalogToken, "/dubbo", "legacy", app.Url))
        {
            Assert.Equal("refused NoAuthError", await intruder.StandardOutput.ReadLineAsync());
            intruder.StandardInput.Close();
            await intruder.WaitForExitAsync();
        }

        registration.StandardInput.Close();
        await registration.WaitForExitAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return !response.IsSuccessStatusCode;
        }, "the frontend's sidecar stops routing to an instance whose session ended");
    }

    private static Process Register(string zooKeeper, string token, string basePath, string service, Uri app)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "curator_register.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { script, zooKeeper, token, basePath, service, "127.0.0.1", app.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    private static async Task<bool> KazooInstalledAsync()
    {
        using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import kazoo"]) { RedirectStandardError = true })!;
        await probe.WaitForExitAsync();
        return probe.ExitCode == 0;
    }

    // ZooKeeper session passwords are derived from the CA material the leader creates right after start.
    private static Task WaitForCaAsync(global::Mesh.Registry.Hosting.RegistryNode leader) =>
        Eventually.TrueAsync(() => leader.Store.Read(s => s.GetNode(RegistryCertificateAuthority.MaterialPath).IsOk), "the leader creates the CA");
}
