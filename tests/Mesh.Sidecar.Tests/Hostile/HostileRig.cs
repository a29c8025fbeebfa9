// One upstream app behind a sidecar whose limits are set small on purpose, so every limit can be
// crossed cheaply: the upstream is both the `catalog` endpoint (outbound listener) and the local
// app (inbound listener), and it records what actually reached it.
using System.Collections.Concurrent;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Hostile;

internal sealed class HostileRig : IAsyncDisposable
{
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxHeaderBytes = 8 * 1024;
    public const int MaxHeaderCount = 20;

    public const string Limits = """
        limits:
          maxRequestHeadersTotalSize: 8KB
          maxRequestHeaderCount: 20
          maxRequestBodySize: 64KB
          requestHeadersTimeout: 2s
          keepAliveTimeout: 3s
          minRequestBodyDataRate: 1KB
          minRequestBodyDataRateGracePeriod: 2s
        """;

    private HostileRig(TestApp upstream, SidecarHost sidecar, UpstreamLog log)
    {
        Upstream = upstream;
        Sidecar = sidecar;
        Log = log;
    }

    public TestApp Upstream { get; }

    public SidecarHost Sidecar { get; }

    /// <summary>What reached the upstream app.</summary>
    public UpstreamLog Log { get; }

    /// <summary>
    /// Starts the rig. <paramref name="handler"/> replaces the default upstream (read the whole
    /// body, answer "ok"); <paramref name="yaml"/> adds sidecar configuration such as `defaults:`;
    /// <paramref name="inboundH2c"/> makes the inbound listener HTTP/2-only, as between sidecars.
    /// </summary>
    public static async Task<HostileRig> StartAsync(Func<HttpContext, UpstreamLog, Task>? handler = null, string yaml = "", bool inboundH2c = false)
    {
        var log = new UpstreamLog();
        handler ??= static async (context, log) =>
        {
            await log.ReadBodyAsync(context);
            await context.Response.WriteAsync("ok");
        };
        var upstream = await TestApp.StartAsync(context =>
        {
            log.Paths.Enqueue(context.Request.Path.Value ?? "/");
            return handler(context, log);
        });
        var listeners = inboundH2c
            ? "listeners:\n  outbound: 127.0.0.1:0\n  inbound: { address: \"127.0.0.1:0\", protocols: h2c }\n  admin: 127.0.0.1:0"
            : TestSidecar.Listeners;
        var config = SidecarConfigLoader.Parse("service:\n  name: test\n" + listeners + "\n" + $"""
            app:
              address: {upstream.Url.ToString().TrimEnd('/')}
            {Limits}
            endpoints:
              catalog:
            {TestSidecar.Endpoint("c1", upstream)}
            {yaml}
            """);
        var sidecar = await TestSidecar.StartAsync(config);
        return new HostileRig(upstream, sidecar, log);
    }

    /// <summary>A well-behaved client of the outbound listener, for "still serves others" checks.</summary>
    public HttpClient Client() => TestSidecar.Client(Sidecar, "catalog");

    /// <summary>Asserts that a normal client is still served correctly, <paramref name="requests"/> times.</summary>
    public async Task AssertStillServesAsync(int requests = 20)
    {
        using var client = Client();
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.PostAsync("/normal", new StringContent("hello"));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>The failures outlier detection has counted against the upstream endpoint, from /config_dump.</summary>
    public async Task<long> EndpointFailuresAsync()
    {
        var dump = await ConfigDump.ReadAsync(Sidecar.AdminUrl);
        return Assert.Single(dump.Cluster("catalog").Endpoints).Failures;
    }

    public async ValueTask DisposeAsync()
    {
        await Sidecar.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

internal sealed class UpstreamLog
{
    public ConcurrentQueue<string> Paths { get; } = new();

    /// <summary>Body bytes received by each request that finished or broke reading its body.</summary>
    public ConcurrentQueue<long> BodyBytes { get; } = new();

    public int Count(string path) => Paths.Count(p => p == path);

    /// <summary>Reads the request body to its end (or until it breaks) and records how much arrived.</summary>
    public async Task ReadBodyAsync(HttpContext context)
    {
        var buffer = new byte[16 * 1024];
        long total = 0;
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                total += read;
        }
        finally
        {
            BodyBytes.Enqueue(total);
        }
    }
}
