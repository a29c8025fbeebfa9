// Connections that break before a request: any client can cause them at will, so they are counted
// (mesh_sidecar_connection_errors_total) and summed up in at most a line per interval, never
// logged one by one with a stack trace.
using System.Net;
using System.Net.Sockets;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.Telemetry;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class ConnectionNoiseTests
{
    private const int Resets = 1000;

    [Theory]
    [InlineData("outbound")]
    [InlineData("inbound")]
    public async Task ThousandResetsBeforeTheFirstByte_AreCountedOneByOne_AndLoggedInAHandfulOfLines(string listener)
    {
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("ok"));
        var logs = new AllLogs();
        var config = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse($"service:\n  name: noise-{listener}\n" + TestSidecar.Listeners + "\n" + $$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("c1", app)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { ConfigureLogging = l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Debug) });
        var target = listener == "outbound" ? sidecar.OutboundUrl : sidecar.InboundUrl;

        logs.Entries.Clear(); // start-up lines are not the resets' doing
        // Bounded: 1,000 connections, 50 at a time, each reset (RST) before it sends a byte.
        for (var batch = 0; batch < Resets / 50; batch++)
            await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ConnectAndResetAsync(target)));

        var counted = 0.0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!deadline.IsCancellationRequested)
        {
            var scrape = await Scrape.GetAsync(sidecar.AdminUrl);
            counted = scrape.Sum("mesh_sidecar_connection_errors_total", ("direction", listener), ("kind", "reset_before_request"));
            if (counted >= Resets)
                break;
            await Task.Delay(100);
        }
        Assert.Equal(Resets, counted);
        var noisy = logs.Entries.Where(e => e.Level >= LogLevel.Information).ToArray();
        Assert.True(noisy.Length <= 3, $"{noisy.Length} log lines: {string.Join(" | ", noisy.Take(5).Select(e => e.Message))}");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain(logs.Entries, e => e.Exception is not null && e.Level >= LogLevel.Information);

        // And the listener still serves.
        using var client = listener == "outbound" ? TestSidecar.Client(sidecar, "catalog") : new HttpClient { BaseAddress = sidecar.InboundUrl };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/after")).StatusCode);
    }

    [Fact]
    public async Task ConnectionThatClosesCleanlyWithoutAByte_IsNotAnError()
    {
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("ok"));
        var config = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse("service:\n  name: noise-clean\n" + TestSidecar.Listeners + $"\napp: {{ address: \"{app.Url.ToString().TrimEnd('/')}\" }}\n");
        await using var sidecar = await TestSidecar.StartAsync(config);

        for (var i = 0; i < 20; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, sidecar.OutboundUrl.Port);
            socket.Shutdown(SocketShutdown.Send);
            // Kestrel closes its side once it sees the end: wait for it, so the count is settled.
            Assert.Equal(0, await socket.ReceiveAsync(new byte[1]).WaitAsync(TimeSpan.FromSeconds(10)));
        }

        var scrape = await Scrape.GetAsync(sidecar.AdminUrl);
        Assert.Equal(0, scrape.Sum("mesh_sidecar_connection_errors_total"));
    }

    private static async Task ConnectAndResetAsync(Uri target)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, target.Port);
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }
}
