using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Registry.Hosting;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Tests.Security;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Telemetry;

public sealed partial class DashboardTests
{
    [Fact]
    public async Task Dashboard_EveryQueriedMetric_ExistsInARealSidecarOrRegistryScrape()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "deploy", "grafana", "mesh-dashboard.json")));
        var queried = Expressions(dashboard.RootElement)
            .SelectMany(e => MetricName().Matches(e).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(queried.Count > 15, string.Join(", ", queried));

        var exported = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in SidecarMetricNamesAsync())
            exported.Add(name);
        await foreach (var name in RegistryMetricNamesAsync())
            exported.Add(name);

        var missing = queried.Except(exported).ToList();
        Assert.True(missing.Count == 0, "not exported: " + string.Join(", ", missing));
    }

    private static async IAsyncEnumerable<string> SidecarMetricNamesAsync()
    {
        await using var good = await TestApp.NamedAsync("ok");
        await using var bad = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var config = TestSidecar.Config($$"""
            app: { address: "{{good.Url.ToString().TrimEnd('/')}}" }
            defaults:
              retries: { attempts: 2, retryOn: [503], baseDelay: 0ms }
              retryBudget: { ratio: 0, minRetriesPerSecond: 1, window: 1s }
            endpoints:
              dash-ok:
            {{TestSidecar.Endpoint("ok", good)}}
              dash-eject:
            {{TestSidecar.Endpoint("bad", bad)}}
              dash-budget:
            {{TestSidecar.Endpoint("bad", bad)}}
            routes:
              - name: dash-eject
                match: { hosts: [dash-eject] }
                service: dash-eject
                outlierDetection: { consecutiveFailures: 1 }
              - name: dash-budget
                match: { hosts: [dash-budget] }
                service: dash-budget
                outlierDetection: { consecutiveFailures: 0 }
              - name: dash-limited
                match: { hosts: [dash-limited] }
                service: dash-ok
                rateLimit: { kind: fixedWindow, limit: 1, window: 10m }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        foreach (var service in new[] { "dash-ok", "dash-eject", "dash-budget", "dash-limited" })
        {
            using var client = TestSidecar.Client(sidecar, service);
            for (var i = 0; i < 5; i++)
                await client.GetAsync("/");
        }
        using (var inbound = new HttpClient { BaseAddress = sidecar.InboundUrl })
            await inbound.GetAsync("/");
        var scrape = await Scrape.GetAsync(sidecar.AdminUrl);
        foreach (var sample in scrape.Samples)
            yield return sample.Name;

        // A second sidecar with permissive mTLS and a policy that denies one path, for the security
        // counters and the certificate expiry (each sidecar exports only its own meters).
        using var pki = new MeshTestPki();
        var policies = new AuthorizationPolicySet(AuthorizationPolicyReader.Read("""
            service: test
            rules:
              - { name: dash-deny, action: deny, paths: [/denied] }
              - { name: dash-allow, action: allow }
            """));
        await using var security = new SidecarSecurity(MeshTlsMode.Permissive, pki.Trust, pki.Source("test"), MeshTestPki.Id("test"), policies);
        await using var secured = new SidecarHost(TestSidecar.Config($"app: {{ address: \"{good.Url.ToString().TrimEnd('/')}\" }}\n"), new SidecarHostOptions { ConfigureLogging = _ => { } }) { Security = security };
        await secured.StartAsync(CancellationToken.None);
        using (var plaintext = new HttpClient { BaseAddress = new UriBuilder(secured.InboundUrl) { Scheme = "http" }.Uri })
        {
            Assert.Equal(HttpStatusCode.OK, (await plaintext.GetAsync("/")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await plaintext.GetAsync("/denied")).StatusCode);
        }
        var securedScrape = await Scrape.GetAsync(secured.AdminUrl);
        foreach (var sample in securedScrape.Samples)
            yield return sample.Name;
    }

    private static async IAsyncEnumerable<string> RegistryMetricNamesAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "mesh-dashboard-tests", Guid.NewGuid().ToString("N"));
        await using var node = new RegistryNode(new RegistryNodeOptions
        {
            Id = 1,
            DataDirectory = directory,
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0), // bound at 0; ClientUrl has the real port
            LoggerFactory = NullLoggerFactory.Instance,
            SnapshotEvery = 5,
        });
        await node.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        for (var i = 0; i < 10; i++)
        {
            for (var attempt = 0; ; attempt++)
            {
                using var response = await http.PostAsync(new Uri(node.ClientUrl, $"/v1/nodes/dash/n{i}?parents=true"), new StringContent("x"));
                if (response.IsSuccessStatusCode || attempt == 50)
                    break;
                await Task.Delay(100);
            }
        }
        // The member lag is refreshed in the background every 2 s while the node leads.
        var scrape = await Scrape.GetAsync(node.ClientUrl);
        for (var attempt = 0; !scrape.Has("mesh_registry_member_lag") && attempt < 100; attempt++)
        {
            await Task.Delay(200);
            scrape = await Scrape.GetAsync(node.ClientUrl);
        }
        foreach (var sample in scrape.Samples)
            yield return sample.Name;
        await node.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                        yield return property.Value.GetString()!;
                    else
                        foreach (var expr in Expressions(property.Value))
                            yield return expr;
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    foreach (var expr in Expressions(item))
                        yield return expr;
                break;
        }
    }


    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Mesh.sln not found");
    }

    [GeneratedRegex(@"\b(?:http|mesh|kestrel)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
