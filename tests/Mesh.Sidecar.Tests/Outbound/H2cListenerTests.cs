using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Connections;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Outbound;

/// <summary>A default (HTTP/1.1 + HTTP/2) plaintext listener also takes h2c, the way gRPC clients connect.</summary>
public sealed class H2cListenerTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    [Fact]
    public async Task DefaultOutboundListener_ServesHttp11AndH2cPriorKnowledge_OnOnePort()
    {
        await using var http1App = await TestApp.StartAsync(context => context.Response.WriteAsync("http1 app saw " + context.Request.Protocol));
        await using var grpcApp = await TestApp.StartAsync(async context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.WriteAsync("grpc app saw " + context.Request.Protocol);
        }, h2c: true);
        // No protocol settings at all: the listener and the upstream hop are the defaults.
        var config = TestSidecar.Config($$"""
            endpoints:
              web:
            {{TestSidecar.Endpoint("w", http1App)}}
              greeter:
            {{TestSidecar.Endpoint("g", grpcApp)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var http1 = TestSidecar.Client(sidecar, "web");
        using var h2c = new HttpClient();
        using var grpcRequest = GrpcLikeRequest(sidecar.OutboundUrl);

        var http1Body = await http1.GetStringAsync("/");
        using var grpcResponse = await h2c.SendAsync(grpcRequest);

        Assert.Equal("http1 app saw HTTP/1.1", http1Body);
        Assert.Equal(HttpVersion.Version20, grpcResponse.Version);
        Assert.Equal("grpc app saw HTTP/2", await grpcResponse.Content.ReadAsStringAsync());
        Assert.Equal("0", Assert.Single(grpcResponse.TrailingHeaders.GetValues("grpc-status")));
    }

    [Fact]
    public async Task Start_DefaultPlaintextListeners_LogNoHttp2IsNotEnabledWarning()
    {
        // Kestrel warned "HTTP/2 is not enabled for ..." for every plaintext HTTP/1.1 + HTTP/2
        // listener, though h2c works there (the test above); a false alarm at every start.
        var logs = new Mesh.Sidecar.Tests.Hostile.CapturedLogs();
        var config = TestSidecar.Config("");

        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { ConfigureLogging = b => b.AddProvider(logs) });

        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("HTTP/2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GrpcBetweenPlaintextSidecars_IsHttp2OnEveryHop_WithDefaultProtocols()
    {
        await using var grpcApp = await TestApp.StartAsync(async context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.WriteAsync($"{context.Request.Protocol} via {context.Request.Headers.Host}");
        }, h2c: true);
        // The server's sidecar: default inbound listener, app.protocol left at http1.
        await using var server = await TestSidecar.StartAsync(SidecarConfigLoader.Parse($$"""
            service: { name: greeter }
            app: { address: "{{grpcApp.Url.ToString().TrimEnd('/')}}" }
            {{TestSidecar.Listeners}}
            """));
        // The client's sidecar: upstream.protocol left at http1, the remote endpoint is the server's inbound listener.
        await using var client = await TestSidecar.StartAsync(TestSidecar.Config($$"""
            endpoints:
              greeter:
                - { id: g, address: 127.0.0.1, port: {{server.InboundUrl.Port}} }
            """));
        using var h2c = new HttpClient();
        using var request = GrpcLikeRequest(client.OutboundUrl);

        using var response = await h2c.SendAsync(request);

        Assert.Equal("HTTP/2 via greeter", await response.Content.ReadAsStringAsync());
        Assert.Equal("0", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
    }

    [Fact]
    public async Task APrefaceSplitAcrossWrites_IsStillHttp2()
    {
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config(""));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, sidecar.OutboundUrl.Port);
        var stream = tcp.GetStream();

        await stream.WriteAsync(Preface.AsMemory(0, 10));
        await stream.FlushAsync();
        await Task.Delay(100);
        await stream.WriteAsync(Preface.AsMemory(10));
        await stream.WriteAsync(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }); // an empty SETTINGS frame
        var header = new byte[9];
        await stream.ReadExactlyAsync(header).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(4, header[3]); // the server's first frame is its SETTINGS: it speaks HTTP/2
    }

    [Fact]
    public async Task AShortHttp11Request_IsAnsweredWithoutWaitingForMoreBytes()
    {
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config(""));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, sidecar.OutboundUrl.Port);
        var stream = tcp.GetStream();

        await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()); // fewer bytes than the preface
        var buffer = new byte[12];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 ", Encoding.ASCII.GetString(buffer), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", true)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04", true)]
    [InlineData("PRI * HTTP/2", null)]
    [InlineData("", null)]
    [InlineData("POST /greet HTTP/1.1\r\n", false)]
    [InlineData("PRI / HTTP/1.1\r\n", false)]
    [InlineData("G", false)]
    public void Classify_TellsThePrefaceFromHttp11_AsSoonAsTheBytesDiffer(string start, bool? isHttp2) =>
        Assert.Equal(isHttp2, H2cPriorKnowledge.Classify(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(start))));

    private static HttpRequestMessage GrpcLikeRequest(Uri sidecar)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sidecar, "/greet.Greeter/SayHello"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Headers.Host = "greeter";
        request.Content.Headers.ContentType = new("application/grpc");
        return request;
    }
}
