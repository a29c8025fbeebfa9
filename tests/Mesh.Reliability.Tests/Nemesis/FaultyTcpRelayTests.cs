using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Mesh.Testing;

namespace Mesh.Reliability.Tests.Nemesis;

public sealed class FaultyTcpRelayTests : IAsyncLifetime
{
    private static readonly TimeSpan s_quiet = TimeSpan.FromMilliseconds(300);
    private readonly EchoServer _echo = new();
    private FaultyTcpRelay _relay = null!;

    public Task InitializeAsync()
    {
        _relay = FaultyTcpRelay.Start(_echo.Endpoint);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _echo.DisposeAsync();
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_relay.Endpoint);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Reads exactly <paramref name="length"/> bytes, or fewer if the peer closed.</summary>
    private static async Task<string> ReceiveAsync(Socket socket, int length, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[length];
        var total = 0;
        while (total < length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cts.Token);
            if (read == 0)
                break;
            total += read;
        }
        return Encoding.ASCII.GetString(buffer, 0, total);
    }

    private static async Task<bool> IsBrokenAsync(Socket socket)
    {
        try
        {
            await SendAsync(socket, "x");
            return await ReceiveAsync(socket, 1, TimeSpan.FromSeconds(5)) == "";
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>The kernel completes the handshake, the relay then resets: either step may fail first.</summary>
    private async Task<bool> NewConnectionIsResetAsync()
    {
        try
        {
            using var socket = await ConnectAsync();
            return await IsBrokenAsync(socket);
        }
        catch (SocketException)
        {
            return true;
        }
    }

    [Fact]
    public async Task Pass_ForwardsBothWays()
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, "hello");
        Assert.Equal("hello", await ReceiveAsync(socket, 5, TimeSpan.FromSeconds(5)));
        Assert.Equal(127, _relay.Endpoint.Address.GetAddressBytes()[0]);
        Assert.Equal(1, _relay.ActiveConnections);
    }

    [Fact]
    public async Task DropNew_ResetsNewConnections_ButKeepsExistingOnes()
    {
        using var existing = await ConnectAsync();
        await SendAsync(existing, "a");
        Assert.Equal("a", await ReceiveAsync(existing, 1, TimeSpan.FromSeconds(5)));

        _relay.Mode = RelayMode.DropNew;
        Assert.True(await NewConnectionIsResetAsync());

        await SendAsync(existing, "b");
        Assert.Equal("b", await ReceiveAsync(existing, 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task BlackHole_HoldsTraffic_AndHealingDeliversIt()
    {
        using var existing = await ConnectAsync();
        await SendAsync(existing, "a");
        Assert.Equal("a", await ReceiveAsync(existing, 1, TimeSpan.FromSeconds(5)));

        _relay.Mode = RelayMode.BlackHole;
        using var fresh = await ConnectAsync();
        await SendAsync(existing, "held");
        await SendAsync(fresh, "new");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReceiveAsync(existing, 4, s_quiet));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReceiveAsync(fresh, 3, s_quiet));
        Assert.Equal(1, _echo.Accepted); // the new connection was never forwarded

        _relay.Mode = RelayMode.Pass;
        Assert.Equal("held", await ReceiveAsync(existing, 4, TimeSpan.FromSeconds(5)));
        Assert.Equal("new", await ReceiveAsync(fresh, 3, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task CutConnections_ResetsExistingConnections_AndNewOnesStillWork()
    {
        using var first = await ConnectAsync();
        using var second = await ConnectAsync();
        await SendAsync(first, "a");
        await SendAsync(second, "b");
        await ReceiveAsync(first, 1, TimeSpan.FromSeconds(5));
        await ReceiveAsync(second, 1, TimeSpan.FromSeconds(5));

        Assert.Equal(2, _relay.CutConnections());
        Assert.True(await IsBrokenAsync(first));
        Assert.True(await IsBrokenAsync(second));

        using var third = await ConnectAsync();
        await SendAsync(third, "c");
        Assert.Equal("c", await ReceiveAsync(third, 1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Latency_DelaysEachDirection()
    {
        using var socket = await ConnectAsync();
        _relay.Latency = TimeSpan.FromMilliseconds(150);
        var clock = Stopwatch.StartNew();
        await SendAsync(socket, "slow");
        Assert.Equal("slow", await ReceiveAsync(socket, 4, TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"round trip took {clock.Elapsed}");

        _relay.Latency = TimeSpan.Zero;
        clock.Restart();
        await SendAsync(socket, "fast");
        Assert.Equal("fast", await ReceiveAsync(socket, 4, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task CloseByTheClient_ClosesTheUpstreamCleanly()
    {
        using (var socket = await ConnectAsync())
        {
            await SendAsync(socket, "bye");
            Assert.Equal("bye", await ReceiveAsync(socket, 3, TimeSpan.FromSeconds(5)));
            socket.Shutdown(SocketShutdown.Send);
            Assert.Equal("", await ReceiveAsync(socket, 1, TimeSpan.FromSeconds(5)));
        }
        var deadline = Stopwatch.StartNew();
        while (_relay.ActiveConnections > 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(20);
        Assert.Equal(0, _relay.ActiveConnections);
    }

    [Fact]
    public async Task Dispose_StopsListening()
    {
        var endpoint = _relay.Endpoint;
        await _relay.DisposeAsync();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(endpoint));
        _relay = FaultyTcpRelay.Start(_echo.Endpoint); // for DisposeAsync
    }
}
