// Starts a real SidecarHost on free ports from a YAML snippet.
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;

namespace Mesh.Sidecar.Tests.TestSupport;

internal static class TestSidecar
{
    public const string Listeners = """
        listeners:
          outbound: 127.0.0.1:0
          inbound: 127.0.0.1:0
          admin: 127.0.0.1:0
        """;

    public static SidecarConfig Config(string yaml) =>
        SidecarConfigLoader.Parse("service:\n  name: test\n" + Listeners + "\n" + yaml);

    public static async Task<SidecarHost> StartAsync(SidecarConfig config, SidecarHostOptions? options = null)
    {
        options ??= new SidecarHostOptions();
        var host = new SidecarHost(config, options with { ConfigureLogging = options.ConfigureLogging ?? (_ => { }) });
        await host.StartAsync(CancellationToken.None);
        return host;
    }

    public static string Endpoint(string id, TestApp app, string version = "v1", int weight = 100) =>
        $"    - {{ id: {id}, address: 127.0.0.1, port: {app.Port}, version: {version}, weight: {weight} }}";

    public static HttpClient Client(SidecarHost host, string service) => new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
    {
        BaseAddress = host.OutboundUrl,
        DefaultRequestHeaders = { Host = service },
        Timeout = TimeSpan.FromSeconds(30),
    };
}
