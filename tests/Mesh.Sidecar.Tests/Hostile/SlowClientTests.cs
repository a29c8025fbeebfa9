// Slowloris: clients that hold connections open by sending headers or bodies a few bytes at a
// time. `limits.requestHeadersTimeout` bounds the head, `limits.minRequestBodyDataRate` the body;
// neither kind of connection may slow down anyone else.
using System.Text;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class SlowClientTests
{
    [Fact]
    public async Task Slowloris_HeadersTrickledByteByByte_ConnectionClosedAfterTheHeaderTimeout()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        await connection.TrySendAsync("GET /slow HTTP/1.1\r\nHost: catalog\r\n");
        using var stop = new CancellationTokenSource();
        // Each byte arrives well inside any per-read timeout; only the total header time is over.
        var trickle = TrickleAsync(connection, Encoding.ASCII.GetBytes("X-Slow: " + new string('s', 200)), TimeSpan.FromMilliseconds(250), stop.Token);

        var closed = await connection.WaitForCloseAsync();
        await stop.CancelAsync();
        await trickle;

        Assert.True(closed, "a slowloris connection outlived the request headers timeout");
        Assert.Equal(0, rig.Log.Count("/slow"));
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task IdleConnection_ThatNeverSendsAByte_IsClosedAfterTheKeepAliveTimeout()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        // Until a first byte arrives Kestrel counts the connection as idle, not as a slow head.
        Assert.True(await connection.WaitForCloseAsync(), "an idle connection outlived the keep-alive timeout");
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task SlowBody_UnderTheMinimumDataRate_Gets408OrCloses_AndTheEndpointIsNotBlamed()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        await connection.TrySendAsync("POST /slow-body HTTP/1.1\r\nHost: catalog\r\nContent-Length: 60000\r\n\r\n");
        using var stop = new CancellationTokenSource();
        // About 40 bytes a second against a minimum of 1 KB/s.
        var trickle = TrickleAsync(connection, Encoding.ASCII.GetBytes(new string('b', 60000)), TimeSpan.FromMilliseconds(25), stop.Token);

        var response = await connection.ReadResponseAsync();
        var closed = await connection.WaitForCloseAsync();
        await stop.CancelAsync();
        await trickle;

        Assert.True(response is null || response.Status == 408, $"got {response?.Status}");
        if (response is not null)
            Assert.Equal("request-body-timeout", response.Header("x-mesh-error"));
        Assert.True(closed, "a slow body outlived the minimum data rate");
        Assert.Equal(0, await rig.EndpointFailuresAsync());
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task ManySlowClientsAtOnce_OtherClientsAreStillServed_AndEverySlowConnectionIsClosed()
    {
        await using var rig = await HostileRig.StartAsync();
        var slow = new List<RawHttpConnection>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var connection = await RawHttpConnection.OpenAsync(i % 2 == 0 ? rig.Sidecar.OutboundUrl : rig.Sidecar.InboundUrl);
                slow.Add(connection);
                // Half stall inside the head, half inside a declared body.
                await connection.TrySendAsync(i % 4 < 2
                    ? "GET /stalled HTTP/1.1\r\nHost: catalog\r\nX-Part"
                    : "POST /stalled HTTP/1.1\r\nHost: catalog\r\nContent-Length: 1000\r\n\r\npartial");
            }

            await rig.AssertStillServesAsync(requests: 50);

            var closed = await Task.WhenAll(slow.Select(c => c.WaitForCloseAsync()));
            Assert.All(closed, c => Assert.True(c));
        }
        finally
        {
            foreach (var connection in slow)
                await connection.DisposeAsync();
        }
        await rig.AssertStillServesAsync();
    }

    /// <summary>Sends <paramref name="bytes"/> one at a time until done, stopped or refused.</summary>
    private static Task TrickleAsync(RawHttpConnection connection, byte[] bytes, TimeSpan pause, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        for (var i = 0; i < bytes.Length && !cancellationToken.IsCancellationRequested; i++)
        {
            if (!await connection.TrySendAsync(bytes.AsMemory(i, 1)))
                return;
            try
            {
                await Task.Delay(pause, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    });
}
