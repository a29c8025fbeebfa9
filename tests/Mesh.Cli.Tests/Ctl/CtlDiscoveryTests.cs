using System.Collections.Immutable;
using Mesh.Registry.Client;

namespace Mesh.Cli.Tests.Ctl;

/// <summary><c>mesh ctl services</c> and <c>mesh ctl endpoints</c> against a real 3-node registry.</summary>
public sealed class CtlDiscoveryTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    private RegistryClient? _client;
    private RegistrySession? _session;

    public async Task DisposeAsync()
    {
        if (_session is not null)
            await _session.DisposeAsync();
        _client?.Dispose();
        await _cluster.DisposeAsync();
    }

    private string Addresses => string.Join(',', _cluster.Nodes.Select(n => n!.ClientUrl));

    private static Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => MeshInProcess.RunAsync(args);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Two instances of "shop" registered the way sidecars do: ephemeral nodes of a live session.</summary>
    private async Task RegisterShopAsync()
    {
        _client = new RegistryClient(Addresses);
        var session = _session = await RegistrySession.OpenAsync(_client, TimeSpan.FromSeconds(30));
        await ServiceRegistration.RegisterAsync(session, "shop", new ServiceInstance
        {
            Id = "shop-1",
            Address = "127.0.0.1",
            Port = 9001,
            Weight = 30,
            Version = "v2",
            Zone = "eu-1",
            Labels = new Dictionary<string, string> { ["team"] = "web", ["canary"] = "yes" }.ToImmutableSortedDictionary(StringComparer.Ordinal),
        });
        await ServiceRegistration.RegisterAsync(session, "shop", new ServiceInstance
        {
            Id = "shop-2",
            Address = "127.0.0.2",
            Port = 9002,
            Weight = 70,
            Version = "v1",
            Zone = "eu-2",
        });
    }

    [Fact]
    public async Task Services_ListsARegisteredService()
    {
        await RegisterShopAsync();

        var (exitCode, output, error) = await RunAsync("ctl", "--registry", Addresses, "services");

        Assert.True(exitCode == 0, error);
        Assert.Equal(["shop"], Lines(output));
        Assert.Equal("", error);
    }

    [Fact]
    public async Task Endpoints_PrintsEachInstancesIdAddressWeightVersionZoneAndLabels()
    {
        await RegisterShopAsync();

        var (exitCode, output, error) = await RunAsync("ctl", "--registry", Addresses, "endpoints", "shop");

        Assert.True(exitCode == 0, error);
        var lines = Lines(output);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^ID\s+ADDRESS\s+WEIGHT\s+VERSION\s+ZONE\s+LABELS$", lines[0]);
        Assert.Matches(@"^shop-1\s+127\.0\.0\.1:9001\s+30\s+v2\s+eu-1\s+canary=yes,team=web$", lines[1]);
        Assert.Matches(@"^shop-2\s+127\.0\.0\.2:9002\s+70\s+v1\s+eu-2$", lines[2]);
    }

    [Fact]
    public async Task Endpoints_OfAnUnknownService_FailsWithOneLineNamingIt()
    {
        await RegisterShopAsync();

        var (exitCode, output, error) = await RunAsync("ctl", "--registry", Addresses, "endpoints", "unknown");

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        var line = Assert.Single(Lines(error));
        Assert.Equal("mesh ctl endpoints: NoNode: no service 'unknown' is registered ('mesh ctl services' lists them)", line);
    }

    [Fact]
    public async Task ARegistryThatIsDown_GivesOneLineNamingEveryAddress()
    {
        // Ports nobody listens on: what a registry that is down looks like from here.
        using RefusingPort first = new(), second = new();
        var down = new[] { $"127.0.0.1:{first.Port}", $"127.0.0.1:{second.Port}" };

        foreach (var verb in new[] { new[] { "services" }, ["endpoints", "shop"] })
        {
            var (exitCode, output, error) = await RunAsync(["ctl", "--registry", string.Join(',', down), .. verb]);

            Assert.Equal(1, exitCode);
            Assert.Equal("", output);
            var line = Assert.Single(Lines(error));
            // Refused everywhere: given up after one round, not after the 10 s request deadline.
            Assert.StartsWith($"mesh ctl {verb[0]}: Unavailable: no registry answered: every address refused the connection", line);
            Assert.All(down, address => Assert.Contains(address, line));
        }
    }
}
