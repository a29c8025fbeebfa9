using System.Net;
using System.Net.Sockets;
using Mesh.Registry.Hosting;
using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.PeerTls;

/// <summary>The server side of the peer port on a real loopback socket, without DotNext: what it hands on, what it refuses, and its bounds.</summary>
public sealed class PeerTlsListenerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Accept_KeyHolder_GetsAConnectionThatCarriesBytesBothWays()
    {
        var key = ClusterKey.Generate();
        using var handshake = Handshake(key, 1);
        await using var server = await ServerAsync(handshake);
        using var client = Handshake(key, 2);
        using var timeout = new CancellationTokenSource(Bound);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint, timeout.Token);
        await using var outbound = await client.ConnectAsync(socket, server.EndPoint, timeout.Token);
        await using var inbound = (await server.AcceptAsync(timeout.Token))!;
        await outbound.Transport.Output.WriteAsync("ping"u8.ToArray(), timeout.Token);
        var ping = new byte[4];
        await inbound.Transport.Input.AsStream().ReadExactlyAsync(ping, timeout.Token);
        await inbound.Transport.Output.WriteAsync("pong"u8.ToArray(), timeout.Token);
        var pong = new byte[4];
        await outbound.Transport.Input.AsStream().ReadExactlyAsync(pong, timeout.Token);

        Assert.Equal("ping"u8.ToArray(), ping);
        Assert.Equal("pong"u8.ToArray(), pong);
        Assert.Equal(0, server.Pending);
    }

    [Fact]
    public async Task Accept_PlainBytesBeforeAKeyHolder_AreNeverHandedOn()
    {
        var key = ClusterKey.Generate();
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        using var handshake = Handshake(key, 1, factory.CreateLogger("test"));
        await using var server = await ServerAsync(handshake);
        using var timeout = new CancellationTokenSource(Bound);

        var plain = await PeerPortClient.PlainAsync(server.EndPoint, [0x02, 0, 0, 0, 0, 0, 0, 0]);
        using var client = Handshake(key, 2);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint, timeout.Token);
        await using var outbound = await client.ConnectAsync(socket, server.EndPoint, timeout.Token);
        await using var first = (await server.AcceptAsync(timeout.Token))!;

        Assert.Empty(plain);
        // The first connection handed on is the key holder's: its local port is the one the server saw.
        Assert.Equal(((IPEndPoint)outbound.LocalEndPoint!).Port, ((IPEndPoint)first.RemoteEndPoint!).Port);
        await Eventually.TrueAsync(() => logs.Messages.Any(m => m.StartsWith("Node 1: refused a connection to the peer port from 127.0.0.1: the TLS handshake failed (", StringComparison.Ordinal)),
            "the refusal was never logged");
    }

    [Fact]
    public async Task Connect_ToANodeOnAnotherKey_IsRefusedByTheClientNamingBothKeys()
    {
        using var serverHandshake = Handshake(ClusterKey.Generate(), 1);
        await using var server = await ServerAsync(serverHandshake);
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        using var client = Handshake(ClusterKey.Generate(), 2, factory.CreateLogger("test"));
        using var timeout = new CancellationTokenSource(Bound);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint, timeout.Token);

        var e = await Assert.ThrowsAsync<PeerRefusedException>(() => client.ConnectAsync(socket, server.EndPoint, timeout.Token));

        Assert.Equal($"its certificate is not from this cluster's key: made with cluster key {serverHandshake.Credentials.Fingerprint}, this node's key is {client.Credentials.Fingerprint} (give every node the same --cluster-key-file)", e.Message);
        var line = Assert.Single(logs.Entries);
        Assert.Equal($"Node 2: cannot talk to peer {server.EndPoint}: {e.Message} (0 more since the last such line; logged once a minute per peer)", line.Message);
        Assert.Null(line.Exception);
    }

    [Fact]
    public async Task Handshake_SilentClient_IsClosedAtTheDeadline()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        using var handshake = Handshake(ClusterKey.Generate(), 1, factory.CreateLogger("test"), timeout: TimeSpan.FromMilliseconds(300));
        await using var server = await ServerAsync(handshake);

        var received = await PeerPortClient.PlainAsync(server.EndPoint, []);

        Assert.Empty(received);
        await Eventually.TrueAsync(() => logs.Messages.Any(m => m.Contains(": no TLS handshake within 0.3 s (", StringComparison.Ordinal)), "the dropped connection was never logged");
        Assert.Equal(0, server.Pending);
    }

    [Fact]
    public async Task Accept_MoreHandshakesThanTheLimit_ClosesTheExtraAtOnce_AndStopClosesThePending()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        using var handshake = Handshake(ClusterKey.Generate(), 1, factory.CreateLogger("test"), timeout: TimeSpan.FromMinutes(5), maxPending: 2);
        var server = await ServerAsync(handshake);
        using var timeout = new CancellationTokenSource(Bound);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                await socket.ConnectAsync(server.EndPoint, timeout.Token);
            }
            await Eventually.TrueAsync(() => server.Pending == 2, "the two silent connections never were pending");

            var extra = await PeerPortClient.PlainAsync(server.EndPoint, []);

            Assert.Empty(extra);
            Assert.Equal(2, server.Pending);
            Assert.Contains(logs.Messages, m => m.StartsWith("Node 1: 2 peer handshakes were pending, so a connection from 127.0.0.1 was closed at once", StringComparison.Ordinal));
            // The two in their handshake are still open (nothing to read, no end of stream)...
            Assert.All(held, s => Assert.False(s.Poll(0, SelectMode.SelectRead)));
            // ...until the listener stops.
            await server.DisposeAsync();
            foreach (var socket in held)
            {
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                Assert.Empty(await PeerPortClient.ReadUntilClosedAsync(stream));
            }
        }
        finally
        {
            await server.DisposeAsync();
            foreach (var socket in held)
                socket.Dispose();
        }
    }

    private static PeerHandshake Handshake(ClusterKey key, int id, ILogger? logger = null, TimeSpan? timeout = null, int? maxPending = null) =>
        new(PeerCredentials.Create(key, id, TimeProvider.System), id, logger ?? NullLogger.Instance, TimeProvider.System, timeout, maxPending);

    /// <summary>A listener on a loopback port, accepting.</summary>
    private static async Task<PeerTlsListener> ServerAsync(PeerHandshake handshake)
    {
        using var bound = BoundListener.Loopback();
        var listener = new PeerTlsListener(bound.Take(), handshake);
        await listener.BindAsync(listener.EndPoint);
        return listener;
    }
}
