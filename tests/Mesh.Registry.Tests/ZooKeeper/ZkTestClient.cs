using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Hosting;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>A bare ZooKeeper client over a real socket, built from the codec: frames in, frames out, nothing hidden.</summary>
internal sealed class ZkTestClient : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private int _xid;

    private ZkTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public ConnectResponse Session { get; private set; }

    /// <param name="local">The address to connect from (any of 127.0.0.0/8 on loopback), so a test can be two clients; the system's choice by default.</param>
    public static async Task<ZkTestClient> OpenAsync(IPEndPoint endPoint, IPAddress? local = null)
    {
        var tcp = local is null ? new TcpClient() : new TcpClient(new IPEndPoint(local, 0));
        await tcp.ConnectAsync(endPoint);
        return new ZkTestClient(tcp);
    }

    /// <summary>Connects a session (a new one by default); fails the test unless the node answers.</summary>
    public static async Task<ZkTestClient> ConnectAsync(IPEndPoint endPoint, long sessionId = 0, byte[]? password = null, int timeoutMs = 10_000, IPAddress? local = null)
    {
        var client = await OpenAsync(endPoint, local);
        client.Session = await client.HandshakeAsync(new ConnectRequest(0, 0, timeoutMs, sessionId, password ?? new byte[16], false))
            ?? throw new InvalidOperationException("the node closed the connection instead of answering the connect request");
        return client;
    }

    public async Task<ConnectResponse?> HandshakeAsync(ConnectRequest request)
    {
        var writer = new JuteWriter();
        request.Write(writer);
        await SendRawAsync(writer.ToFrame());
        var frame = await ReadFrameAsync();
        if (frame is null)
            return null;
        var reader = new JuteReader(frame);
        return ConnectResponse.Read(ref reader);
    }

    public int NextXid() => ++_xid;

    /// <summary>Sends one request; does not wait for the answer.</summary>
    public Task SendAsync(OpCode op, IJuteWritable? body, int? xid = null)
    {
        var writer = new JuteWriter();
        new RequestHeader(xid ?? NextXid(), (int)op).Write(writer);
        body?.Write(writer);
        return SendRawAsync(writer.ToFrame());
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends a request and returns its reply, collecting the notifications that came first.</summary>
    public async Task<(ReplyHeader Header, byte[] Body, List<WatcherEvent> Notifications)> CallAsync(OpCode op, IJuteWritable? body)
    {
        var xid = op == OpCode.Ping ? Xids.Ping : NextXid();
        await SendAsync(op, body, xid);
        var notifications = new List<WatcherEvent>();
        while (true)
        {
            var (header, rest) = await ReadReplyAsync() ?? throw new IOException("the node closed the connection");
            if (header.Xid == Xids.Notification)
            {
                var reader = new JuteReader(rest);
                notifications.Add(WatcherEvent.Read(ref reader));
                continue;
            }
            Assert.Equal(xid, header.Xid);
            return (header, rest, notifications);
        }
    }

    /// <summary>Sends <c>addauth digest USER:PASSWORD</c> and returns the error code of its answer (0 when accepted).</summary>
    public async Task<int> AddAuthAsync(string credentials)
    {
        await SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes(credentials)), Xids.Auth);
        var (header, _) = await ReadReplyAsync() ?? throw new IOException("the node closed the connection instead of answering addauth");
        Assert.Equal(Xids.Auth, header.Xid);
        return header.Err;
    }

    public async Task<(ReplyHeader Header, byte[] Body)?> ReadReplyAsync()
    {
        var frame = await ReadFrameAsync();
        if (frame is null)
            return null;
        var reader = new JuteReader(frame);
        var header = ReplyHeader.Read(ref reader);
        return (header, frame[reader.Position..]);
    }

    public static T Parse<T>(byte[] body)
        where T : IJuteRecord<T>
    {
        var reader = new JuteReader(body);
        var value = T.Read(ref reader);
        reader.EnsureEnd(typeof(T).Name);
        return value;
    }

    /// <summary>The next frame, or null once the node has closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        var prefix = new byte[4];
        if (!await ReadExactlyAsync(prefix, timeout.Token))
            return null;
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        return await ReadExactlyAsync(frame, timeout.Token) ? frame : throw new IOException("the connection closed inside a frame");
    }

    /// <summary>Everything until the node closes the connection (for four-letter words).</summary>
    public async Task<string> ReadToEndAsync()
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        using var reader = new StreamReader(_stream, leaveOpen: true);
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>True when the node closed (or reset) the connection.</summary>
    public async Task<bool> ClosedByServerAsync() => await ReadFrameOrFailureAsync() is null;

    private async Task<byte[]?> ReadFrameOrFailureAsync()
    {
        try
        {
            return await ReadFrameAsync();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
                return false;
            read += n;
        }
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Starting a registry node that serves ZooKeeper on a port the system picks.</summary>
internal static class ZkNodes
{
    public static async Task<(TestCluster Cluster, IPEndPoint ZooKeeper)> StartAsync(
        bool open = true, IReadOnlyList<Mesh.Registry.Api.Access.ApiTokenGrant>? tokens = null, Mesh.Registry.ZooKeeper.Sessions.ZkSessionLimits? limits = null,
        Func<Mesh.Registry.ZooKeeper.ZooKeeperOptions, Mesh.Registry.ZooKeeper.ZooKeeperOptions>? configure = null,
        IReadOnlyList<Mesh.Registry.CertificateAuthority.JoinTokenGrant>? joinTokens = null,
        Func<Mesh.Registry.Hosting.RegistryNodeOptions, Mesh.Registry.Hosting.RegistryNodeOptions>? nodeOptions = null)
    {
        var options = new Mesh.Registry.ZooKeeper.ZooKeeperOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Open = open,
            SessionLimits = limits ?? new(),
        };
        var cluster = await TestCluster.StartAsync(1, o => (nodeOptions ?? (n => n))(o with
        {
            ZooKeeper = configure is null ? options : configure(options),
            ApiTokens = tokens ?? [],
            JoinTokens = joinTokens ?? [],
        }));
        var node = cluster.Nodes[0]!;
        // Session passwords are derived from the CA material the leader creates right after start.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!node.Store.Read(s => s.GetNode(Mesh.Registry.CertificateAuthority.RegistryCertificateAuthority.MaterialPath).IsOk))
        {
            if (waited.Elapsed > TestCluster.Timeout)
                throw new TimeoutException("the leader did not create the CA");
            await Task.Delay(20);
        }
        return (cluster, node.ZooKeeperEndPoint!);
    }

    /// <summary>A 3-node cluster serving ZooKeeper in open mode on every node, once every node has the CA material session passwords come from.</summary>
    public static async Task<TestCluster> StartClusterAsync(Func<Mesh.Registry.Hosting.RegistryNodeOptions, Mesh.Registry.Hosting.RegistryNodeOptions>? nodeOptions = null)
    {
        var cluster = await TestCluster.StartAsync(3, o => (nodeOptions ?? (n => n))(o with
        {
            ZooKeeper = new Mesh.Registry.ZooKeeper.ZooKeeperOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Open = true },
        }));
        await Mesh.Testing.Eventually.TrueAsync(() => cluster.Nodes.All(n => n!.Store.Read(s => s.GetNode(Mesh.Registry.CertificateAuthority.RegistryCertificateAuthority.MaterialPath).IsOk)),
            "every node has the CA material");
        return cluster;
    }
}

/// <summary>
/// Writes and reads sent back to back on one session, so the node reads them while earlier writes
/// are still in flight (pipelined on the leader, forwarded in batches from a follower), and the
/// checks that they were applied and answered in request order.
/// </summary>
internal static class ZkPipelineScript
{
    public static async Task RunAsync(IPEndPoint zk, int rounds = 300)
    {
        await using var client = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, Create("/q"))).Header.Err);
        Assert.Equal(0, (await client.CallAsync(OpCode.Create, Create("/v"))).Header.Err);

        // Each setData names the version the one before it leaves, so any reordering fails one
        // with BadVersion; each sequential create must get the next suffix; each getData right
        // after a create must find what it created.
        var bytes = new List<byte>();
        var xid = 100;
        for (var i = 0; i < rounds; i++)
        {
            bytes.AddRange(Frame(++xid, OpCode.Create, Create("/q/n-", ZkCreateFlags.PersistentSequential)));
            bytes.AddRange(Frame(++xid, OpCode.GetData, new PathWatchRequest($"/q/n-{i:D10}", false)));
            bytes.AddRange(Frame(++xid, OpCode.SetData, new SetDataRequest("/v", Encoding.UTF8.GetBytes($"{i}"), i)));
        }
        await client.SendRawAsync([.. bytes]);

        var lastZxid = 0L;
        for (var i = 0; i < rounds * 3; i++)
        {
            var (header, body) = (await client.ReadReplyAsync())!.Value;
            Assert.Equal((101 + i, 0), (header.Xid, header.Err));
            Assert.True(header.Zxid >= lastZxid, $"reply {header.Xid} went back to zxid {header.Zxid} from {lastZxid}");
            lastZxid = header.Zxid;
            if (i % 3 == 0)
                Assert.Equal($"/q/n-{i / 3:D10}", ZkTestClient.Parse<PathResponse>(body).Path);
        }
        var (read, data, _) = await client.CallAsync(OpCode.GetData, new PathWatchRequest("/v", false));
        Assert.Equal(0, read.Err);
        var v = ZkTestClient.Parse<GetDataResponse>(data);
        Assert.Equal(($"{rounds - 1}", rounds), (Encoding.UTF8.GetString(v.Data!), v.Stat.Version));
    }

    private static CreateRequest Create(string path, ZkCreateFlags flags = ZkCreateFlags.Persistent) => new(path, [], Acl.OpenUnsafe, (int)flags);

    internal static byte[] Frame(int xid, OpCode op, IJuteWritable body)
    {
        var writer = new JuteWriter();
        new RequestHeader(xid, (int)op).Write(writer);
        body.Write(writer);
        return writer.ToFrame();
    }
}
