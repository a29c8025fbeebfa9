using System.Diagnostics;
using System.Net;
using Mesh.Registry.Client;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Mesh.Sidecar.Tests.RateLimiting;

/// <summary>
/// Three real sidecars of `catalog` with a mesh-wide inbound limit of 300 rps, their shares from a
/// real 3-node registry's membership; load is driven under a scripted clock (one request per
/// sidecar per simulated millisecond, i.e. 3,000 rps offered) so the count is exact and the run
/// bounded: 2 simulated seconds per phase, 10,000 requests at most.
/// </summary>
public sealed class MeshWideRateLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MeshWide300Rps_Over3Sidecars_AdmitsAbout300PerSecond_AndResplitsWhenOneLeaves()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        using var client = new RegistryClient(string.Join(",", cluster.Nodes.Select(n => n!.ClientUrl)));
        await using var app = await TestApp.NamedAsync("catalog");
        var time = new FakeTimeProvider();

        var sessions = new List<RegistrySession>();
        var registrations = new List<ServiceRegistration>();
        var shares = new List<RegistryMeshShare>();
        var sidecars = new List<SidecarHost>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(10));
                sessions.Add(session);
                registrations.Add(await ServiceRegistration.RegisterAsync(session, "catalog",
                    new ServiceInstance { Id = "catalog-" + i, Address = "127.0.0.1", Port = 15006 + i, Weight = 100 }));
            }
            foreach (var registration in registrations)
                shares.Add(new RegistryMeshShare(client, registration));
            await Eventually.TrueAsync(() => shares.All(s => Math.Abs(s.Value - 1.0 / 3) < 1e-9), "the three shares never settled at a third", TimeSpan.FromSeconds(10));

            var config = TestSidecar.Config($$"""
                drainTime: 0s
                app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
                rateLimits:
                  inbound:
                    - { name: catalog-total, requestsPerSecond: 300, burst: 30, meshWide: true }
                """);
            foreach (var share in shares)
            {
                var sidecar = new SidecarHost(config, new SidecarHostOptions { TimeProvider = time, RateLimitShare = share, ConfigureLogging = _ => { } });
                await sidecar.StartAsync(CancellationToken.None);
                sidecars.Add(sidecar);
            }
            var clients = sidecars.Select(s => new HttpClient { BaseAddress = s.InboundUrl }).ToList();

            // Warm up one simulated second (drains the bursts), then count one second.
            await DriveAsync(clients, time, TimeSpan.FromSeconds(1));
            var admitted = await DriveAsync(clients, time, TimeSpan.FromSeconds(1));
            output.WriteLine($"3 sidecars admitted {string.Join(" + ", admitted)} = {admitted.Sum()} of 3000 in 1 s");
            Assert.InRange(admitted.Sum(), 270, 330);
            Assert.All(admitted, a => Assert.InRange(a, 90, 110));

            // One sidecar leaves: the other two see it and take half each (how soon is measured, not asserted).
            var left = Stopwatch.StartNew();
            await registrations[2].DisposeAsync();
            await Eventually.TrueAsync(() => shares.Take(2).All(s => Math.Abs(s.Value - 0.5) < 1e-9), "the two remaining shares never settled at a half", TimeSpan.FromSeconds(5));
            output.WriteLine($"re-split seen {left.Elapsed.TotalMilliseconds:F0} ms after the deregistration");

            var remaining = clients.Take(2).ToList();
            await DriveAsync(remaining, time, TimeSpan.FromSeconds(1));
            var after = await DriveAsync(remaining, time, TimeSpan.FromSeconds(1));
            output.WriteLine($"2 sidecars admitted {string.Join(" + ", after)} = {after.Sum()} of 2000 in 1 s");
            Assert.InRange(after.Sum(), 270, 330);
            foreach (var c in clients)
                c.Dispose();
        }
        finally
        {
            foreach (var sidecar in sidecars)
                await sidecar.DisposeAsync();
            foreach (var share in shares)
                await share.DisposeAsync();
            foreach (var registration in registrations)
                await registration.DisposeAsync();
            foreach (var session in sessions)
                await session.DisposeAsync();
        }
    }

    /// <summary>One request to each sidecar per simulated millisecond; returns the 200s per sidecar.</summary>
    private static async Task<int[]> DriveAsync(IReadOnlyList<HttpClient> clients, FakeTimeProvider time, TimeSpan duration)
    {
        var admitted = new int[clients.Count];
        for (var ms = 0; ms < duration.TotalMilliseconds; ms++)
        {
            for (var i = 0; i < clients.Count; i++)
            {
                using var response = await clients[i].GetAsync("/item");
                if (response.StatusCode == HttpStatusCode.OK)
                    admitted[i]++;
                else
                    Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            }
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        return admitted;
    }
}
