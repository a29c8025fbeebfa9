using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.Client.Tests.Transport;

/// <summary>A write whose response is lost on the way back is retried by the client and applied once.</summary>
public sealed class LostResponseTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task SequentialCreateWhoseResponseIsLost_IsRetried_AppliedOnce_AndReturnsTheOriginalResult()
    {
        var leader = await _cluster.WaitForLeaderAsync();
        using var admin = ClusterClients.For(_cluster);
        await admin.CreateAsync("/jobs", []);
        await using var relay = LossyRelay.Start(new IPEndPoint(IPAddress.Loopback, leader.ClientUrl.Port));
        using var client = new RegistryClient(new RegistryClientOptions { Endpoints = [relay.Url], RequestTimeout = TimeSpan.FromSeconds(10) });

        var created = await client.CreateAsync("/jobs/job-", "payload"u8.ToArray(), CreateMode.Sequential);

        // The registry did answer the first attempt (the relay read it and threw it away)...
        var (status, body) = await relay.DroppedResponse.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(201, status);
        using var dropped = JsonDocument.Parse(body);
        // ...and the retry, on a new connection, got that same result back.
        Assert.Equal(2, relay.Connections);
        Assert.Equal(dropped.RootElement.GetProperty("path").GetString(), created.Path);
        Assert.Equal(dropped.RootElement.GetProperty("index").GetInt64(), created.Index);
        var children = await admin.GetChildrenAsync("/jobs");
        Assert.Equal($"/jobs/{Assert.Single(children.Children)}", created.Path);
        Assert.Equal("payload"u8.ToArray(), (await admin.GetAsync(created.Path)).Data);
    }

    /// <summary>
    /// A loopback TCP relay to a registry node that forwards everything, except that on the first
    /// connection it reads the node's whole response and closes the client's side instead of
    /// passing it on: a response lost after the write committed.
    /// </summary>
    private sealed class LossyRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly IPEndPoint _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = [];
        private int _connections;

        private LossyRelay(IPEndPoint target) => _target = target;

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        public int Connections => Volatile.Read(ref _connections);

        /// <summary>The status code and body of the response that was not passed on.</summary>
        public TaskCompletionSource<(int Status, string Body)> DroppedResponse { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static LossyRelay Start(IPEndPoint target)
        {
            var relay = new LossyRelay(target);
            relay._listener.Start();
            relay._tasks.Add(relay.AcceptAsync());
            return relay;
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                var first = Interlocked.Increment(ref _connections) == 1;
                lock (_tasks)
                    _tasks.Add(Task.Run(() => RelayAsync(client, first)));
            }
        }

        private async Task RelayAsync(TcpClient client, bool dropResponse)
        {
            using var _ = client;
            using var server = new TcpClient();
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
                var up = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                if (!dropResponse)
                {
                    await Task.WhenAny(up, server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
                    return;
                }

                DroppedResponse.TrySetResult(await ReadResponseAsync(server.GetStream()));
                client.Client.Close(); // the client sees its connection end with no response
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                DroppedResponse.TrySetException(e);
            }
        }

        /// <summary>Reads one HTTP/1.1 response (Content-Length or chunked body).</summary>
        private async Task<(int Status, string Body)> ReadResponseAsync(Stream stream)
        {
            var buffer = new MemoryStream();
            var chunk = new byte[4096];
            while (true)
            {
                var read = await stream.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                    throw new IOException("the registry closed the connection mid-response");
                buffer.Write(chunk, 0, read);
                var text = Encoding.UTF8.GetString(buffer.ToArray());
                var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headerEnd < 0)
                    continue;
                var headers = text[..headerEnd].Split("\r\n");
                var status = int.Parse(headers[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                var body = text[(headerEnd + 4)..];
                var length = headers.FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                if (length is not null && Encoding.UTF8.GetByteCount(body) >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                    return (status, body);
                if (length is null && body.EndsWith("0\r\n\r\n", StringComparison.Ordinal))
                    return (status, Dechunk(body));
            }
        }

        private static string Dechunk(string body)
        {
            var result = new StringBuilder();
            var position = 0;
            while (true)
            {
                var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
                var size = Convert.ToInt32(body[position..lineEnd].Split(';')[0], 16);
                if (size == 0)
                    return result.ToString();
                result.Append(body, lineEnd + 2, size);
                position = lineEnd + 2 + size + 2;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            Task[] tasks;
            lock (_tasks)
                tasks = [.. _tasks];
            await Task.WhenAll(tasks);
            _stop.Dispose();
        }
    }
}
