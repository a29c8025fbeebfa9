// One authenticated peer connection as DotNext's custom transport takes it: an ASP.NET
// ConnectionContext whose Transport pipe reads and writes the TLS stream (which owns the socket).
// The same type serves both directions: what DotNext reads and writes is the Raft protocol, in clear
// only inside this process.
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Registry.PeerTls;

internal sealed class TlsConnection : ConnectionContext, IDisposable
{
    // One TLS record's worth of plaintext per read from the stream.
    private const int ReadBufferBytes = 16 * 1024;

    private static long _lastId;

    private readonly SslStream _stream;
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    public TlsConnection(SslStream stream, EndPoint? local, EndPoint? remote)
    {
        _stream = stream;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        ConnectionClosed = _closed.Token;
        Transport = new Pipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferBytes, leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
        ConnectionId = "peer-tls-" + Interlocked.Increment(ref _lastId).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override void Abort(ConnectionAbortedException abortReason) => Close();

    public override ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    // Synchronous on purpose: DotNext's client disposes connections from synchronous code, and
    // closing the stream (and its socket) never waits for the peer.
    public void Dispose()
    {
        Close();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _closed.Dispose();
    }

    private void Close()
    {
        if (Volatile.Read(ref _disposed) != 0)
            return;
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile.
        }
        // Only the stream: a read or write may be in flight on another thread (DotNext disposes a
        // connection to cancel its pending request), and fails when the stream closes under it,
        // whereas completing the pipes under it would hand its buffers back while in use.
        _stream.Dispose();
    }

    private sealed record Pipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
