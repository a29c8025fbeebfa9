using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Testing;

/// <summary>How the relay treats traffic right now.</summary>
internal enum RelayMode
{
    /// <summary>Forward everything (with <see cref="FaultyTcpRelay.Latency"/> added).</summary>
    Pass,

    /// <summary>Reset every new connection at once; existing ones keep working.</summary>
    DropNew,

    /// <summary>
    /// Accept new connections but never connect them onward, and stop forwarding on existing
    /// ones: bytes wait (as TCP would retransmit them) and flow again when the mode changes
    /// back to <see cref="Pass"/>. A silent partition: peers see timeouts, not errors.
    /// </summary>
    BlackHole,
}

/// <summary>
/// Whether bytes in one direction of a relayed connection wait (a cut link) right now.
/// <paramref name="remote"/> is the connecting side's address; <paramref name="toTarget"/> is
/// true for the bytes it sends, false for the target's answers.
/// </summary>
internal delegate bool LinkHeld(IPEndPoint remote, bool toTarget);

/// <summary>
/// A TCP relay to put between two parts (Raft peers, a follower and its leader's client port) to
/// inject network faults. It listens on 127.0.0.1 (or a given address) at port 0 and forwards
/// each accepted connection to <see cref="Target"/>. A partition is <see cref="RelayMode.BlackHole"/> (silent) or
/// <see cref="RelayMode.DropNew"/> plus <see cref="CutConnections"/> (loud); healing is
/// <see cref="RelayMode.Pass"/>. With a <see cref="LinkHeld"/> the relay cuts links per
/// connecting peer and per direction (one-way loss): held bytes wait, as TCP retransmits, and
/// flow again when the link is restored. With <see cref="HoldAnswersToWrites"/> it forwards an
/// HTTP request that is not a GET but holds the answer (<see cref="AnswerHeld"/>): the target
/// handled the request and the caller never hears back until the connection is cut or closed.
/// </summary>
internal sealed class FaultyTcpRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<int, RelayedConnection> _connections = new();
    private readonly Lock _modeLock = new();
    private readonly Task _acceptLoop;
    private readonly TaskCompletionSource _answerHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _modeChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RelayMode _mode;
    private long _latencyTicks;
    private int _nextConnectionId;

    private readonly LinkHeld? _held;
    private readonly TimeProvider _time;

    private FaultyTcpRelay(EndPoint target, IPAddress bind, LinkHeld? held, bool holdAnswersToWrites, TimeProvider? time = null)
    {
        Target = target;
        _held = held;
        HoldAnswersToWrites = holdAnswersToWrites;
        _time = time ?? TimeProvider.System;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(bind, 0));
        _listener.Listen(128);
        Endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Starts a relay in <see cref="RelayMode.Pass"/> that forwards to <paramref name="target"/>.</summary>
    /// <param name="time">The clock of <see cref="Latency"/> (tests script it).</param>
    public static FaultyTcpRelay Start(EndPoint target, TimeProvider? time = null) => new(target, IPAddress.Loopback, null, holdAnswersToWrites: false, time);

    /// <summary>A relay listening on <paramref name="bind"/> (port 0) that cuts links as <paramref name="held"/> says.</summary>
    public static FaultyTcpRelay Start(EndPoint target, IPAddress bind, LinkHeld held) => new(target, bind, held, holdAnswersToWrites: false);

    /// <summary>A relay that holds the answer to every request but a GET (see <see cref="AnswerHeld"/>).</summary>
    public static FaultyTcpRelay StartHoldingAnswersToWrites(EndPoint target) => new(target, IPAddress.Loopback, null, holdAnswersToWrites: true);

    /// <summary>Where to connect to go through the relay (bound at port 0).</summary>
    public IPEndPoint Endpoint { get; }

    public EndPoint Target { get; }

    public bool HoldAnswersToWrites { get; }

    /// <summary>Completes when an answer to a request other than a GET is first held.</summary>
    public Task AnswerHeld => _answerHeld.Task;

    /// <summary>Connections accepted so far (closed ones included).</summary>
    public int Connections => Volatile.Read(ref _nextConnectionId);

    public RelayMode Mode
    {
        get { lock (_modeLock) return _mode; }
        set
        {
            lock (_modeLock)
            {
                if (_mode == value)
                    return;
                _mode = value;
                _modeChanged.TrySetResult();
                _modeChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Delay added to every chunk forwarded, in each direction.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>Connections accepted and not yet closed.</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>Resets every existing connection (both sides see a reset). Returns how many were cut.</summary>
    public int CutConnections()
    {
        var cut = 0;
        foreach (var (id, connection) in _connections)
        {
            if (_connections.TryRemove(id, out _))
            {
                connection.Abort();
                cut++;
            }
        }
        return cut;
    }

    /// <summary>
    /// Stops listening (a new connection is refused, as to a dead process) and closes every
    /// connection with a FIN, as the kernel does for a killed process with nothing unread.
    /// </summary>
    public void CloseAll()
    {
        _listener.Dispose();
        foreach (var (id, connection) in _connections)
        {
            if (_connections.TryRemove(id, out _))
                connection.Shutdown();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        CutConnections();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (Mode == RelayMode.DropNew)
            {
                RelayedConnection.Reset(client);
                continue;
            }
            var connection = new RelayedConnection(client, _stopping.Token);
            var id = Interlocked.Increment(ref _nextConnectionId);
            _connections[id] = connection;
            _ = Task.Run(async () =>
            {
                var clean = false;
                try
                {
                    clean = await RunAsync(connection);
                }
                finally
                {
                    _connections.TryRemove(id, out _);
                    if (clean)
                        connection.Close();
                    else
                        connection.Abort();
                }
            });
        }
    }

    /// <summary>Relays until both directions end; true when both ended with a clean shutdown.</summary>
    private async Task<bool> RunAsync(RelayedConnection connection)
    {
        var token = connection.Token;
        try
        {
            // A black-holed connection is held, unconnected, until the partition heals.
            await WaitWhileBlackHoledAsync(token);
            await WaitWhileHeldAsync(connection.Remote, toTarget: true, token);
            if (Mode == RelayMode.DropNew)
                return false;
            await connection.Upstream.ConnectAsync(Target, token);
            var holdAnswer = HoldAnswersToWrites && await ForwardFirstRequestAsync(connection, token);
            var clean = await Task.WhenAll(
                PumpAsync(connection.Client, connection.Upstream, connection.Remote, toTarget: true, holdAnswer: false, token),
                PumpAsync(connection.Upstream, connection.Client, connection.Remote, toTarget: false, holdAnswer, token));
            return clean.All(c => c);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Forwards the first bytes the client sends; true when they are not an HTTP GET (a write).</summary>
    private static async Task<bool> ForwardFirstRequestAsync(RelayedConnection connection, CancellationToken token)
    {
        var first = new byte[16 * 1024];
        var read = await connection.Client.ReceiveAsync(first, SocketFlags.None, token);
        if (read == 0)
            return false;
        await connection.Upstream.SendAsync(first.AsMemory(0, read), SocketFlags.None, token);
        return !first.AsSpan(0, read).StartsWith("GET "u8);
    }

    private async Task<bool> PumpAsync(Socket from, Socket to, IPEndPoint? remote, bool toTarget, bool holdAnswer, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, token);
                if (holdAnswer && read > 0)
                {
                    // The target answered a write: the caller never hears it until the connection is cut.
                    _answerHeld.TrySetResult();
                    await Task.Delay(Timeout.Infinite, token);
                }
                await WaitWhileBlackHoledAsync(token);
                await WaitWhileHeldAsync(remote, toTarget, token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return true;
                }
                var latency = Latency;
                if (latency > TimeSpan.Zero)
                    await Task.Delay(latency, _time, token);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, token);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // One side reset or closed: reset the other too, as a real broken path would.
            RelayedConnection.Reset(from);
            RelayedConnection.Reset(to);
            return false;
        }
    }

    private async Task WaitWhileHeldAsync(IPEndPoint? remote, bool toTarget, CancellationToken token)
    {
        if (_held is null || remote is null)
            return;
        while (_held(remote, toTarget))
            await Task.Delay(20, token);
    }

    private async Task WaitWhileBlackHoledAsync(CancellationToken token)
    {
        while (true)
        {
            Task changed;
            lock (_modeLock)
            {
                if (_mode != RelayMode.BlackHole)
                    return;
                changed = _modeChanged.Task;
            }
            await changed.WaitAsync(token);
        }
    }

    /// <summary>One client connection and its upstream twin.</summary>
    private sealed class RelayedConnection(Socket client, CancellationToken stopping)
    {
        private readonly CancellationTokenSource _aborted = CancellationTokenSource.CreateLinkedTokenSource(stopping);

        public Socket Client { get; } = client;

        public IPEndPoint? Remote { get; } = client.RemoteEndPoint as IPEndPoint;

        public Socket Upstream { get; } = new(SocketType.Stream, ProtocolType.Tcp);

        public CancellationToken Token => _aborted.Token;

        public void Abort()
        {
            try
            {
                _aborted.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
            Reset(Client);
            Reset(Upstream);
        }

        /// <summary>Both directions ended cleanly: close with FIN so no buffered byte is lost.</summary>
        public void Close()
        {
            _aborted.Dispose();
            Client.Dispose();
            Upstream.Dispose();
        }

        /// <summary>Closes both sockets with a FIN, whatever is in flight.</summary>
        public void Shutdown()
        {
            foreach (var socket in new[] { Client, Upstream })
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

        /// <summary>Closes with RST rather than FIN, so the peer sees "connection reset".</summary>
        public static void Reset(Socket socket)
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
    }
}
