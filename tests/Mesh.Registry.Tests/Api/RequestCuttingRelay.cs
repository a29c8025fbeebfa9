using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Registry.Tests.Api;

/// <summary>
/// A loopback TCP relay (bound to port 0) to a target. With <c>cutWrites</c>, on a connection
/// whose request is not a GET it forwards the request but holds the target's answer and signals
/// <see cref="AnswerHeld"/>: the target has handled the request, and the caller never hears back
/// until <see cref="CutAll"/> resets it.
/// </summary>
internal sealed class RequestCuttingRelay : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly EndPoint _target;
    private readonly bool _cutWrites;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;
    private int _connections;

    private RequestCuttingRelay(EndPoint target, bool cutWrites)
    {
        _target = target;
        _cutWrites = cutWrites;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public static RequestCuttingRelay Start(EndPoint target, bool cutWrites) => new(target, cutWrites);

    public IPEndPoint EndPoint { get; }

    public int Connections => Volatile.Read(ref _connections);

    public Task AnswerHeld => _held.Task;

    public void CutAll()
    {
        foreach (var socket in _sockets)
            Reset(socket);
    }

    /// <summary>
    /// Stops listening (a new connection is refused, as to a dead process) and closes every
    /// connection with a FIN, as the kernel does for a killed process with nothing unread.
    /// </summary>
    public void CloseAll()
    {
        _listener.Dispose();
        foreach (var socket in _sockets)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            _sockets.Add(client);
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(upstream);
        try
        {
            await upstream.ConnectAsync(_target, _stopping.Token);
            var first = new byte[16 * 1024];
            var read = await client.ReceiveAsync(first, SocketFlags.None, _stopping.Token);
            if (read == 0)
                return;
            var hold = _cutWrites && !(read >= 4 && first[0] == 'G' && first[1] == 'E' && first[2] == 'T' && first[3] == ' ');
            await upstream.SendAsync(first.AsMemory(0, read), SocketFlags.None, _stopping.Token);
            await Task.WhenAll(PumpAsync(client, upstream, hold: false), PumpAsync(upstream, client, hold));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool hold)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (hold && read > 0)
                {
                    _held.TrySetResult();
                    await Task.Delay(Timeout.Infinite, _stopping.Token);
                }
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Reset(from);
            Reset(to);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        CutAll();
        await _accepting;
        _stopping.Dispose();
    }
}
