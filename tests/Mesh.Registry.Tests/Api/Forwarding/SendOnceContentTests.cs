using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Registry.Api.Forwarding;

namespace Mesh.Registry.Tests.Api.Forwarding;

/// <summary>
/// A forwarded write on a kept-alive connection (ZooKeeper writes from a follower to the leader):
/// a write whose body left is never sent again by the HTTP client on its own, and whether any of
/// it left is what tells "nothing was proposed" from "outcome unknown".
/// </summary>
public sealed class SendOnceContentTests
{
    [Fact]
    public async Task ConnectionLostAfterTheBody_IsNotResent_AndSaysTheBodyLeft()
    {
        await using var leader = new ScriptedLeader(LeaderStep.Answer, LeaderStep.DropWithoutAnswer);
        using var client = PooledClient();
        await SendAsync(client, leader.Url, new SendOnceContent("first"u8.ToArray()));

        var second = new SendOnceContent("second"u8.ToArray());
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => SendAsync(client, leader.Url, second));

        Assert.True(failure is HttpRequestException or IOException, failure.ToString());
        Assert.True(second.Started);
        Assert.Equal(["first", "second"], leader.Applied);
    }

    [Fact]
    public async Task KeptAliveConnectionClosedByTheLeaderInBetween_TheNextWriteGoesOnANewConnection_Once()
    {
        await using var leader = new ScriptedLeader(LeaderStep.AnswerThenClose, LeaderStep.Answer);
        using var client = PooledClient();
        await SendAsync(client, leader.Url, new SendOnceContent("first"u8.ToArray()));
        await Mesh.Testing.Eventually.TrueAsync(() => leader.Closed == 1, "the leader closed the first connection");

        var second = new SendOnceContent("second"u8.ToArray());
        await SendAsync(client, leader.Url, second);

        Assert.Equal(["first", "second"], leader.Applied);
        Assert.Equal(2, leader.Connections);
    }

    [Fact]
    public async Task SentOnce_ASecondSend_FailsAndWritesNothing()
    {
        var content = new SendOnceContent("once"u8.ToArray());
        using var first = new MemoryStream();
        using var second = new MemoryStream();

        await content.CopyToAsync(first);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => content.CopyToAsync(second));
        Assert.IsType<IOException>(refused.InnerException);

        Assert.Equal("once"u8.ToArray(), first.ToArray());
        Assert.Empty(second.ToArray());
    }

    [Fact]
    public async Task NoConnection_SaysNoByteOfTheBodyLeft()
    {
        // Bound and never listening: every connect is refused.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = PooledClient();
        var content = new SendOnceContent("never"u8.ToArray());

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync(client, new Uri($"http://{closed.LocalEndPoint}/"), content));

        Assert.Equal(HttpRequestError.ConnectionError, failure.HttpRequestError);
        Assert.False(content.Started);
    }

    private enum LeaderStep
    {
        Answer,
        AnswerThenClose,
        DropWithoutAnswer,
    }

    /// <summary>
    /// A leader on a real socket that reads each request's whole body and applies it, then does what
    /// its script says for that request: answer, answer and close the connection, or close it
    /// without a byte of answer (FIN, not reset, as a restarting leader's listener does after
    /// applying; Kestrel cannot end a connection that way).
    /// </summary>
    private sealed class ScriptedLeader : IAsyncDisposable
    {
        private readonly LeaderStep[] _script;
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private int _requests;
        private int _connections;
        private int _closed;

        public ScriptedLeader(params LeaderStep[] script)
        {
            _script = script;
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
            Url = new Uri($"http://{_listener.LocalEndPoint}/");
            _serving = ServeAsync();
        }

        public Uri Url { get; }

        public ConcurrentQueue<string> Applied { get; } = new();

        public int Connections => Volatile.Read(ref _connections);

        public int Closed => Volatile.Read(ref _closed);

        private async Task ServeAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    Interlocked.Increment(ref _connections);
                    connections.Add(ServeConnectionAsync(socket));
                }
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(connections);
        }

        private async Task ServeConnectionAsync(Socket socket)
        {
            using var _ = socket;
            await using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            try
            {
                while (await reader.ReadLineAsync(_stop.Token) is not null)
                {
                    var length = 0;
                    while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } header)
                    {
                        if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                            length = int.Parse(header["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                    var body = new char[length];
                    await reader.ReadBlockAsync(body, _stop.Token);
                    Applied.Enqueue(new string(body));
                    var step = _script[Math.Min(Interlocked.Increment(ref _requests), _script.Length) - 1];
                    if (step != LeaderStep.DropWithoutAnswer)
                        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), _stop.Token);
                    if (step != LeaderStep.Answer)
                    {
                        socket.Shutdown(SocketShutdown.Both);
                        Interlocked.Increment(ref _closed);
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _serving;
            _stop.Dispose();
        }
    }

    private static HttpMessageInvoker PooledClient() => new(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) });

    private static async Task SendAsync(HttpMessageInvoker client, Uri leader, HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, leader) { Content = content, Version = HttpVersion.Version11 };
        using var response = await client.SendAsync(request, CancellationToken.None);
        response.EnsureSuccessStatusCode();
    }
}
