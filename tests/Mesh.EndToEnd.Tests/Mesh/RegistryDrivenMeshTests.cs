using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>Sidecars that learn endpoints and routes from a real registry cluster.</summary>
public sealed class RegistryDrivenMeshTests : IAsyncLifetime
{
    private MeshFixture _mesh = null!;

    public async Task InitializeAsync() => _mesh = await MeshFixture.StartAsync();

    public async Task DisposeAsync() => await _mesh.DisposeAsync();

    [Fact]
    public async Task Sidecars_RegisterTheirApps_AndRouteToEachOtherThroughTheRegistry()
    {
        var (_, frontend) = await _mesh.AddServiceAsync("frontend");
        await _mesh.AddServiceAsync("catalog");

        using var http = MeshFixture.Through(frontend, "catalog");
        var body = await RetryUntilOkAsync(http, "/items");

        Assert.Equal("catalog/v1", body);
        using var client = _mesh.Client();
        Assert.Equal(["catalog", "frontend"], (await client.ListServicesAsync()).Order());
    }

    [Fact]
    public async Task InstanceThatGoesAway_GetsNoTrafficOnceItsRemovalIsSeen()
    {
        var (_, frontend) = await _mesh.AddServiceAsync("frontend");
        await _mesh.AddServiceAsync("catalog", "v1");
        var (_, leaving) = await _mesh.AddServiceAsync("catalog", "v2");
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilAsync(http, body => body == "catalog/v2");

        await leaving.StopAsync(CancellationToken.None); // deregisters first, then drains
        using var client = _mesh.Client();
        var watch = client.WatchServiceAsync("catalog").GetAsyncEnumerator();
        while (await watch.MoveNextAsync() && watch.Current.Instances.Length != 1)
        {
        }

        await Task.Delay(300); // the sidecar's own watch sees the same change
        for (var i = 0; i < 100; i++)
            Assert.Equal("catalog/v1", await http.GetStringAsync("/"));
        await watch.DisposeAsync();
    }

    [Fact]
    public async Task CrashedSidecar_StaysListedUntilItsSessionExpires_WhileCallersAreServedByTheOthers()
    {
        var (_, frontend) = await _mesh.AddServiceAsync("frontend");
        await _mesh.AddServiceAsync("catalog", "v1");
        var (_, crashing) = await _mesh.AddServiceAsync("catalog", "v2");
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilAsync(http, body => body == "catalog/v2");
        using var client = _mesh.Client();
        var path = ServicePaths.Instance("catalog", crashing.Instance!.Id);
        var inboundPort = crashing.Host.InboundUrl.Port;

        await crashing.CrashAsync();

        // No goodbye: the instance was not deleted (its session lives on for its TTL) ...
        Assert.True(await client.ExistsAsync(path), "a crash must not deregister");
        // ... but nothing answers at its address any more, and callers are served by the survivor.
        using (var probe = new System.Net.Sockets.TcpClient())
            await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => probe.ConnectAsync(System.Net.IPAddress.Loopback, inboundPort));
        for (var i = 0; i < 50; i++)
            Assert.Equal("catalog/v1", await http.GetStringAsync("/"));

        // The registry removes it once the abandoned session expires.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await client.ExistsAsync(path, timeout.Token))
            await Task.Delay(100, timeout.Token);
        await crashing.DisposeAsync(); // after a crash, disposing does nothing more
        Assert.Equal("catalog/v1", await http.GetStringAsync("/"));
    }

    [Fact]
    public async Task RoutePushedToTheRegistry_ChangesTrafficWithinASecond_WithNoFailedRequests()
    {
        var (_, frontend) = await _mesh.AddServiceAsync("frontend");
        await _mesh.AddServiceAsync("catalog", "v1");
        await _mesh.AddServiceAsync("catalog", "v2");
        using var client = _mesh.Client();
        await client.CreateAsync("/config/routes/catalog", Encoding.UTF8.GetBytes("""
            match: { hosts: [catalog] }
            split:
              - { service: catalog, version: v1, weight: 100 }
            """), createParents: true);
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilAsync(http, body => body == "catalog/v1", mustStay: 20);

        // Load runs while the route flips all traffic to v2.
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var lastV1 = DateTime.UtcNow;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.GetAsync("/");
                if (!response.IsSuccessStatusCode)
                    Interlocked.Increment(ref failures);
                else if (await response.Content.ReadAsStringAsync() == "catalog/v1")
                    lastV1 = DateTime.UtcNow;
            }
        });
        await Task.Delay(300);
        var pushedAt = DateTime.UtcNow;
        await client.SetAsync("/config/routes/catalog", """
            match: { hosts: [catalog] }
            split:
              - { service: catalog, version: v2, weight: 100 }
            """);
        await Task.Delay(1500);
        await stop.CancelAsync();
        await load;

        Assert.Equal(0, failures);
        Assert.True(lastV1 - pushedAt < TimeSpan.FromSeconds(1), $"v1 still served {(lastV1 - pushedAt).TotalMilliseconds:0} ms after the push");
        Assert.Equal("catalog/v2", await http.GetStringAsync("/"));
    }

    [Fact]
    public async Task InvalidRouteInTheRegistry_IsIgnored_AndTheLastGoodOneKeepsServing()
    {
        var (_, frontend) = await _mesh.AddServiceAsync("frontend");
        await _mesh.AddServiceAsync("catalog", "v1");
        await _mesh.AddServiceAsync("catalog", "v2");
        using var client = _mesh.Client();
        await client.CreateAsync("/config/routes/catalog", Encoding.UTF8.GetBytes("match: { hosts: [catalog] }\nsplit:\n  - { service: catalog, version: v2, weight: 100 }\n"), createParents: true);
        using var http = MeshFixture.Through(frontend, "catalog");
        await RetryUntilAsync(http, body => body == "catalog/v2", mustStay: 20);

        await client.SetAsync("/config/routes/catalog", "split:\n  - { service: catalog, version: v1, weight: -5 }\n");
        await Task.Delay(1000);

        for (var i = 0; i < 50; i++)
            Assert.Equal("catalog/v2", await http.GetStringAsync("/"));
    }

    private static Task<string> RetryUntilOkAsync(HttpClient http, string path) => RetryUntilAsync(http, _ => true, path: path);

    /// <summary>Polls until the body satisfies <paramref name="accept"/> <paramref name="mustStay"/> times in a row.</summary>
    private static async Task<string> RetryUntilAsync(HttpClient http, Func<string, bool> accept, int mustStay = 1, string path = "/")
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var streak = 0;
        while (true)
        {
            using var response = await http.GetAsync(path, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            streak = response.IsSuccessStatusCode && accept(body) ? streak + 1 : 0;
            if (streak >= mustStay)
                return body;
            await Task.Delay(20, timeout.Token);
        }
    }
}
