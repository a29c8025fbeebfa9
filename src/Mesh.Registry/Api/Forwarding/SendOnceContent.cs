using System.Net;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// A request body that goes out at most once, and says whether it started to. On a reused
/// keep-alive connection that ends before the answer, <see cref="SocketsHttpHandler"/> resends a
/// request by itself on a new connection, and the first copy may already have been applied. This
/// body refuses to be sent a second time, so that resend fails, and <see cref="Started"/> tells the
/// caller whether any copy of the body left: when none did, the receiver (which acts only on a
/// whole body) cannot have acted on it; when one did, the outcome is unknown.
/// </summary>
internal sealed class SendOnceContent(byte[] body) : HttpContent
{
    private int _sends;

    /// <summary>True once the handler began writing the body (of the first and only copy).</summary>
    public bool Started => Volatile.Read(ref _sends) > 0;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _sends) == 1
            ? stream.WriteAsync(body, cancellationToken).AsTask()
            : Task.FromException(new IOException("the connection ended after the request's body was sent; it is not sent again, so its outcome is unknown"));

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }
}
