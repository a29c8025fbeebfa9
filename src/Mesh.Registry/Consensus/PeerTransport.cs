using System.Net;
using System.Net.Sockets;
using Mesh.Registry.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Registry.Consensus;

/// <summary>
/// The Raft transport's sockets. DotNext's built-in TCP transport creates and binds its listening
/// socket itself from a configured address, so a member has to know its port before it listens:
/// a cluster on one host had to pick free ports first and hope nobody took them. Its custom
/// transport takes ASP.NET connection factories instead (the same Raft protocol over any
/// stream); the server side here is Kestrel's socket transport serving a socket bound in advance
/// (<see cref="BoundListener"/>), so a member can be named by the address its socket got.
/// With the cluster key (<see cref="PeerTls.PeerHandshake"/>) both sides run mutual TLS 1.3
/// first, and DotNext gets only connections that passed it (<see cref="PeerTls.PeerTlsListener"/>).
/// </summary>
internal static class PeerTransport
{
    /// <summary>Serves the Raft protocol on <paramref name="listener"/>'s socket (taken now; a reopen binds its address again), behind TLS with <paramref name="tls"/>.</summary>
    public static IConnectionListenerFactory Server(BoundListener listener, ILoggerFactory loggerFactory, PeerTls.PeerHandshake? tls = null)
    {
        var socket = listener.Take();
        if (tls is not null)
            return new PeerTls.PeerTlsListener(socket, tls);
        var options = new SocketTransportOptions
        {
            NoDelay = true,
            // Called once per bind with the configured address: the socket is already bound there.
            CreateBoundListenSocket = _ => socket,
        };
        return new SocketTransportFactory(Options.Create(options), loggerFactory);
    }

    /// <summary>Outbound connections to peers: a TCP connect (a host name is resolved on every connect), then TLS with <paramref name="tls"/>, wrapped as a pipe.</summary>
    public sealed class PeerConnectionFactory(ILoggerFactory loggerFactory, PeerTls.PeerHandshake? tls = null) : IConnectionFactory, IDisposable
    {
        private readonly SocketConnectionContextFactory _contexts = new(new SocketConnectionFactoryOptions(), loggerFactory.CreateLogger<PeerConnectionFactory>());

        public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                return tls is null ? _contexts.Create(socket) : await tls.ConnectAsync(socket, endpoint, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        public void Dispose() => _contexts.Dispose();
    }
}
