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

        // The app registers itself with shop's join token, as a Curator app with basePath /services would.
        using var registration = Register(zk, MeshFixture.ShopToken, "legacy", app.Url);
        var id = await registration.StandardOutput.ReadLineAsync();
        Assert.True(Guid.TryParse(id, out _), $"registration answered '{id}': {(id is null ? await registration.StandardError.ReadToEndAsync() : "")}");

        var (code, listed) = await MeshProcess.RunAsync("ctl", "--registry", mesh.RegistryAddresses, "endpoints", "legacy");
        Assert.True(code == 0, listed);
        Assert.Matches($@"{id}\s+127\.0\.0\.1:{app.Url.Port}\s+100\s", listed);
        Assert.Contains("registration=curator", listed);
        using var client = mesh.Client();
        // Secure naming as over HTTP: the first registration claimed the name for namespace shop.
        Assert.Equal("shop", (await client.GetServiceOwnerAsync("legacy"))?.Namespace);

        using var http = MeshFixture.Through(frontend, "legacy");
        Assert.Equal("legacy/curator", await Eventually.ObjectAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }, "the frontend's sidecar routes to the Curator-registered app"));

        // A join token scoped to another service may not register legacy over ZooKeeper either.
        using (var intruder = Register(zk, MeshFixture.CatalogToken, "legacy", app.Url))
        {
            Assert.Equal("refused NoAuthError", await intruder.StandardOutput.ReadLineAsync());
            intruder.StandardInput.Close();
            await intruder.WaitForExitAsync();
        }

        // The app's ZooKeeper session ends: its instance goes, and so does the traffic.
        registration.StandardInput.Close();
        await registration.WaitForExitAsync();
        Assert.Empty((await client.GetServiceAsync("legacy")).Instances);
        await Eventually.TrueAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return !response.IsSuccessStatusCode;
        }, "the frontend's sidecar stops routing to an instance whose session ended");
    }

    private static Process Register(string zooKeeper, string token, string service, Uri app)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "curator_register.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { script, zooKeeper, token, "/services", service, "127.0.0.1", app.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
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
