// The server side of the peer port with the cluster key: accepts on the socket bound before the
// start, runs each connection's TLS handshake on its own (a slow one holds up no other), and hands
// DotNext only the connections that passed. At most MaxPending connections are in a handshake or
// waiting for DotNext at once; more are closed as they arrive, so a flood of connections costs a
// bounded amount of memory and never reaches the Raft code.
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace Mesh.Registry.PeerTls;

internal sealed class PeerTlsListener : IConnectionListener, IConnectionListenerFactory
{
    private readonly Socket _socket;
    private readonly PeerHandshake _handshake;
    private readonly Channel<TlsConnection> _ready = Channel.CreateUnbounded<TlsConnection>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _accepting = Task.CompletedTask;
    private int _pending;
    private int _started;
    private int _stopped;

    /// <summary>Serves <paramref name="socket"/> (listening already; this listener owns it from now on).</summary>
    public PeerTlsListener(Socket socket, PeerHandshake handshake)
    {
        _socket = socket;
        _handshake = handshake;
        EndPoint = socket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    /// <summary>Connections accepted and not yet handed to DotNext nor closed (tests read it).</summary>
    internal int Pending => Volatile.Read(ref _pending);

    /// <summary>DotNext binds once per start; the socket is bound already, so this only starts accepting.</summary>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("the peer listener is bound once; a restart makes a new one");
        _accepting = AcceptLoopAsync();
        return ValueTask.FromResult<IConnectionListener>(this);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _pending);
            return connection;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    private async Task AcceptLoopAsync()
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                || e is SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted })
            {
                break;
            }
            catch (SocketException)
            {
                // Reset while in the backlog (as Kestrel's accept loop): take the next one.
                continue;
            }
            if (Interlocked.Increment(ref _pending) > _handshake.MaxPending)
            {
                Interlocked.Decrement(ref _pending);
                _handshake.Refusals.TooManyPending(AddressOf(client), _handshake.MaxPending);
                client.Dispose();
                continue;
            }
            _ = HandshakeAsync(client, stopping);
        }
        _ready.Writer.TryComplete();
    }

    private async Task HandshakeAsync(Socket client, CancellationToken stopping)
    {
        var address = AddressOf(client);
        var handedOver = false;
        try
        {
            client.NoDelay = true;
            var connection = await _handshake.AcceptAsync(client, stopping).ConfigureAwait(false);
            handedOver = _ready.Writer.TryWrite(connection);
            if (!handedOver)
                connection.Dispose();
        }
        catch (PeerRefusedException e)
        {
            _handshake.Refusals.Inbound(address, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping, or the connection was gone before its handshake began.
            client.Dispose();
        }
        finally
        {
            if (!handedOver)
                Interlocked.Decrement(ref _pending);
        }
    }

    private static string AddressOf(Socket socket)
    {
        try
        {
            return (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "an unknown address";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "an unknown address";
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => StopAsync();

    // The token source is not disposed: handshakes still running when the listener stops hold its token.
    public ValueTask DisposeAsync() => StopAsync();

    private async ValueTask StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
            return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _accepting.ConfigureAwait(false);
        _ready.Writer.TryComplete();
        // Passed their handshake, never taken by DotNext.
        while (_ready.Reader.TryRead(out var connection))
            connection.Dispose();
    }
}
