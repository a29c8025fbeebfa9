using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Http;

namespace Mesh.EndToEnd.Tests.Mesh;

/// <summary>
/// Callers that send their request body far too slowly, through a real mTLS pair (frontend's
/// sidecar A → catalog's sidecar B over HTTP/2): the slow callers get 408 from their own sidecar,
/// B is never blamed (no failure, no ejection), and other callers keep getting 200 meanwhile.
/// </summary>
public sealed class SlowBodyThroughMutualTlsTests
{
    private const int SlowCallers = 30;

    // Short body timeouts (1 KB/s after a grace period), and an ejection after 3 failures in a
    // row: a single blamed slow body would show. Catalog's sidecar B is the stricter one, so its
    // timer would fire first if it checked the rate on the shared HTTP/2 connection from A.
    private static string Limits(string grace) => $$"""
        limits:
          minRequestBodyDataRate: 1KB
          minRequestBodyDataRateGracePeriod: {{grace}}
        defaults:
          timeout: 20s
          retries: { attempts: 1 }
          outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 60s }
        """;

    [Fact]
    public async Task SlowBodies_GetTheir408FromTheCallersSidecar_AndCatalogStaysInRotationWhileOthersGet200()
    {
        await using var mesh = await MeshFixture.StartAsync();
        var (_, frontend) = await mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls() + Limits("4s"));
        await mesh.AddServiceAsync("catalog", @namespace: "shop", extraYaml: MeshFixture.Tls(token: MeshFixture.CatalogToken) + Limits("2s"),
            handler: async context =>
            {
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
                await context.Response.WriteAsync("catalog");
            });
        using var http = MeshFixture.Through(frontend, "catalog");
        await Eventually.TrueAsync(async () =>
        {
            using var response = await http.GetAsync("/");
            return response.StatusCode == HttpStatusCode.OK;
        }, "the mesh never answered 200", TimeSpan.FromSeconds(20));

        using var stop = new CancellationTokenSource();
        var others = Task.Run(() => OtherCallersAsync(http, stop.Token));
        var statuses = await Task.WhenAll(Enumerable.Range(0, SlowCallers).Select(_ => SlowPostAsync(frontend.Host.OutboundUrl)));
        await stop.CancelAsync();
        var (ok, notOk) = await others;

        // Each slow caller was answered 408 by its own sidecar (or, at worst, its connection closed).
        Assert.All(statuses, s => Assert.True(s is 408 or 0, $"a slow caller got {s}"));
        Assert.Contains(408, statuses);
        Assert.True(ok >= 5, $"only {ok} other requests got through");
        Assert.Equal([], notOk);
        var catalog = Assert.Single((await ConfigDump.ReadAsync(frontend.Host.AdminUrl)).Cluster("catalog").Endpoints);
        Assert.Equal("healthy", catalog.Health);
        Assert.Equal(0, catalog.Failures);
        Assert.Equal(0, catalog.Ejections);
    }

    /// <summary>Sends a 100 KB body at one byte per 200 ms; returns the status it got (0: closed without one).</summary>
    private static async Task<int> SlowPostAsync(Uri outbound)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, outbound.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: catalog\r\nContent-Length: 100000\r\n\r\n"));
        var buffer = new byte[4096];
        var read = stream.ReadAsync(buffer).AsTask();
        // Bounded: at most 15 s of trickling, far past the 4 s grace of a 1 KB/s minimum.
        for (var i = 0; i < 75 && !read.IsCompleted; i++)
        {
            try
            {
                await stream.WriteAsync("x"u8.ToArray());
            }
            catch (IOException)
            {
                break;
            }
            await Task.WhenAny(read, Task.Delay(200));
        }
        try
        {
            var n = await read.WaitAsync(TimeSpan.FromSeconds(10));
            var head = Encoding.ASCII.GetString(buffer, 0, n);
            return n >= 12 && head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(head.AsSpan(9, 3)) : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Well-behaved callers meanwhile: every answer they get.</summary>
    private static async Task<(int Ok, List<string> NotOk)> OtherCallersAsync(HttpClient http, CancellationToken stop)
    {
        var ok = 0;
        var notOk = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            using var response = await http.PostAsync("/normal", new StringContent("hello"), CancellationToken.None);
            if (response.StatusCode == HttpStatusCode.OK)
                ok++;
            else
                notOk.Add($"{(int)response.StatusCode} {string.Join(",", response.Headers.TryGetValues("x-mesh-error", out var e) ? e : [])}");
            await Task.Delay(100, CancellationToken.None);
        }
        return (ok, notOk);
    }
}
