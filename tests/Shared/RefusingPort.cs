// A loopback port that refuses connections for as long as this object lives: a socket bound to
// port 0 but never listening, so the kernel answers every connect with a reset. Unlike "a port
// that was free a moment ago", nobody else can start listening on it during the test.
using System.Net;
using System.Net.Sockets;

namespace Mesh.Testing;

internal sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusingPort() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public void Dispose() => _socket.Dispose();
}
