// The loop guard. If the sidecar does not run as the uid `mesh iptables` exempts, its own
// pass-through connections are redirected back to it, each spawning the next. The connections the
// sidecar opens to original destinations are remembered by their local address; one of them
// arriving back on the outbound listener is refused with an error saying why, ending the loop.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Sidecar.Outbound.Interception;

internal sealed class OwnConnections
{
    private readonly ConcurrentDictionary<EndPoint, byte> _open = new();

    public bool Contains(EndPoint? remote) => remote is not null && _open.ContainsKey(remote);

    /// <summary>Connects to <paramref name="destination"/>, remembering the connection until the returned stream is disposed.</summary>
    public async ValueTask<Stream> ConnectAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        // Of the destination's family: a dual-mode socket's local address (::ffff:a.b.c.d) would not match the redirected connection's peer.
        var socket = new Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(destination, cancellationToken).ConfigureAwait(false);
            return new TrackedStream(this, socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class TrackedStream : NetworkStream
    {
        private readonly OwnConnections _owner;
        private readonly EndPoint _local;

        public TrackedStream(OwnConnections owner, Socket socket)
            : base(socket, ownsSocket: true)
        {
            _owner = owner;
            _local = socket.LocalEndPoint!;
            _owner._open[_local] = 0;
        }

        protected override void Dispose(bool disposing)
        {
            _owner._open.TryRemove(_local, out _);
            base.Dispose(disposing);
        }
    }
}
