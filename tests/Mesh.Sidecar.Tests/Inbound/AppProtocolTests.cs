using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Inbound;

/// <summary>
/// `app.protocol: h2c`: the inbound listener forwards to the local app over HTTP/2 with prior
/// knowledge, and an app that does not speak it gets the caller a 502 that says so.
/// </summary>
public sealed class AppProtocolTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Forward_AppDeclaredH2c_AppSeesHttp2()
    {
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync(context.Request.Protocol), h2c: true);
        await using var sidecar = await StartAsync(app, "h2c");
        using var client = InboundClient(sidecar);

        using var response = await client.GetAsync("/").WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("HTTP/2", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Forward_AppDeclaredHttp1_AppSeesHttp11()
    {
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync(context.Request.Protocol));
        await using var sidecar = await StartAsync(app, "http1");
        using var client = InboundClient(sidecar);

        using var response = await client.GetAsync("/").WaitAsync(Bound);

        Assert.Equal("HTTP/1.1", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Forward_AppDeclaredH2cSpeaksOnlyHttp1_Answers502SayingSo()
    {
        // A plaintext Kestrel listener speaks HTTP/1.1 only: it cannot read the HTTP/2 preface.
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("never"));
        await using var sidecar = await StartAsync(app, "h2c");
        using var client = InboundClient(sidecar);

        using var response = await client.GetAsync("/").WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("app-protocol", Assert.Single(response.Headers.GetValues("x-mesh-error")));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("app.protocol", body, StringComparison.Ordinal);
        Assert.Contains("HTTP/2", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forward_AppDeclaredH2cAnswersInHttp11_Answers502SayingSo()
    {
        // What nginx and most HTTP/1.1 servers do with the HTTP/2 preface: an HTTP/1.1 400, which
        // the HTTP/2 client reads as a broken frame (Kestrel instead says HTTP_1_1_REQUIRED, above).
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var socket = await listener.AcceptSocketAsync(stop.Token);
                await socket.ReceiveAsync(new byte[4096], System.Net.Sockets.SocketFlags.None, stop.Token);
                await socket.SendAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), System.Net.Sockets.SocketFlags.None, stop.Token);
            }
        });
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config($$"""
            app: { address: "http://127.0.0.1:{{((IPEndPoint)listener.LocalEndpoint).Port}}", protocol: h2c }
            """));
        using var client = InboundClient(sidecar);

        using var response = await client.GetAsync("/").WaitAsync(Bound);
        await stop.CancelAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("app-protocol", Assert.Single(response.Headers.GetValues("x-mesh-error")));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server);
    }

    [Fact]
    public async Task Forward_H2cAppResetsTheStream_IsAnEndpointFailureNotAProtocolMismatch()
    {
        // The app speaks HTTP/2 and refuses this one request with INTERNAL_ERROR: that is the
        // endpoint failing, not app.protocol being wrong.
        await using var app = await TestApp.StartAsync(context =>
        {
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResetFeature>()!.Reset(0x2);
            return Task.CompletedTask;
        }, h2c: true);
        await using var sidecar = await StartAsync(app, "h2c");
        using var client = InboundClient(sidecar);

        using var response = await client.GetAsync("/").WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream-unavailable", Assert.Single(response.Headers.GetValues("x-mesh-error")));
        Assert.DoesNotContain("app.protocol", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static Task<SidecarHost> StartAsync(TestApp app, string protocol) =>
        TestSidecar.StartAsync(TestSidecar.Config($$"""
            app: { address: "http://127.0.0.1:{{app.Port}}", protocol: {{protocol}} }
            """));

    private static HttpClient InboundClient(SidecarHost sidecar) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = sidecar.InboundUrl,
        Timeout = TimeSpan.FromSeconds(30),
    };
}
