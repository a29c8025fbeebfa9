// HTTP/1.1 and h2c (HTTP/2 with prior knowledge, what gRPC clients speak in plaintext) on one
// plaintext port. Kestrel (.NET 10) does not do this itself: a plaintext Http1AndHttp2 endpoint
// answers an HTTP/2 preface with HTTP_1_1_REQUIRED. So a connection middleware peeks at the first
// bytes; a connection that opens with the HTTP/2 preface is handed to the HTTP layer of an
// HTTP/2-only endpoint, everything else goes on to the listener's own (HTTP/1.1) HTTP layer.
using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Sidecar.Connections;

internal sealed class H2cPriorKnowledge
{
    private readonly KestrelServerOptions _kestrel;
    private ConnectionDelegate? _http2;

    private H2cPriorKnowledge(KestrelServerOptions kestrel) => _kestrel = kestrel;

    /// <summary>RFC 9113 §3.4: every prior-knowledge connection opens with these 24 bytes.</summary>
    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Adds the HTTP/2-only pipeline that h2c connections are handed to. Kestrel builds one HTTP
    /// layer per endpoint, so that pipeline needs an endpoint of its own: a loopback port nobody is
    /// told about. Handed-over connections keep their real local endpoint, so the sidecar
    /// dispatches them by the port the client used; a request made directly to the hidden port
    /// matches no listener and is refused like any request during startup.
    /// </summary>
    public static H2cPriorKnowledge AddTo(KestrelServerOptions kestrel)
    {
        var dispatcher = new H2cPriorKnowledge(kestrel);
        kestrel.Listen(IPAddress.Loopback, 0, options =>
        {
            options.Protocols = HttpProtocols.Http2;
            options.Use(http2 => dispatcher._http2 = http2);
        });
        return dispatcher;
    }

    /// <summary>Connection middleware for a plaintext HTTP/1.1 + HTTP/2 listener (add it last).</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate http1) => connection =>
        // Over TLS, ALPN already chose the protocol and the listener's HTTP layer honours it.
        connection.Features.Get<ITlsHandshakeFeature>() is not null ? http1(connection) : DispatchAsync(connection, http1);

    private async Task DispatchAsync(ConnectionContext connection, ConnectionDelegate http1)
    {
        if (await ReadPrefaceAsync(connection).ConfigureAwait(false) is { } isHttp2)
            await (isHttp2 ? _http2! : http1)(connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the connection opens with the HTTP/2 preface, without consuming a byte; null when
    /// it closed first or said too little within the keep-alive timeout (then it is aborted).
    /// The deadline lives only as long as this wait, not for the whole connection.
    /// </summary>
    private async Task<bool?> ReadPrefaceAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        long examined = 0;
        // Kestrel's own idle and header timers start only once a protocol layer has the
        // connection; until then this wait is the only one, so it gets the keep-alive timeout: a
        // client that connects and says nothing (or a few preface bytes) is closed, not kept.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        deadline.CancelAfter(_kestrel.Limits.KeepAliveTimeout);
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var buffer = read.Buffer;
                var verdict = Classify(buffer);
                if (verdict is not null || read.IsCompleted || read.IsCanceled)
                {
                    if (buffer.Length == 0)
                        return null; // closed before saying anything
                    // Consume nothing, and examine no less than before (pipes forbid going back):
                    // the next layer then reads every byte, without waiting for more.
                    input.AdvanceTo(buffer.Start, buffer.GetPosition(examined));
                    return verdict ?? false;
                }
                // A prefix of the preface so far: wait for more bytes.
                examined = buffer.Length;
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException)
        {
            if (!connection.ConnectionClosed.IsCancellationRequested)
                connection.Abort(new ConnectionAbortedException("no request within the keep-alive timeout"));
            return null;
        }
    }

    /// <summary>true: the preface; false: anything else (HTTP/1.1); null: too few bytes to tell.</summary>
    internal static bool? Classify(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[Preface.Length];
        var length = (int)Math.Min(buffer.Length, Preface.Length);
        buffer.Slice(0, length).CopyTo(start);
        if (!start[..length].SequenceEqual(Preface[..length]))
            return false;
        return length == Preface.Length ? true : null;
    }
}
