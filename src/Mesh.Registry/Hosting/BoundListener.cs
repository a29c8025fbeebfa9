using System.Net;
using System.Net.Sockets;

namespace Mesh.Registry.Hosting;

/// <summary>
/// A listening TCP socket bound before the node that will serve on it starts, so its address
/// (the port the system gave, when port 0 was asked for) is known and held from that moment:
/// a launcher that starts several nodes on one host binds one per node on port 0, names the
/// members by the addresses it got, and hands each node its sockets. Nothing can take such a
/// port between the moment it is known and the moment it is served, unlike a port found free
/// and bound later.
/// </summary>
public sealed class BoundListener : IDisposable
{
    private Socket? _socket;

    private BoundListener(Socket socket)
    {
        _socket = socket;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>The address bound, with the port the system chose when port 0 was asked for.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Binds and listens on <paramref name="endPoint"/>; throws <see cref="SocketException"/> when it cannot.</summary>
    public static BoundListener Bind(IPEndPoint endPoint) => new(BindSocket(endPoint));

    /// <summary>
    /// The listening socket a launcher bound and left open across exec as file descriptor
    /// <paramref name="descriptor"/> (as systemd socket activation does); throws
    /// <see cref="ArgumentException"/> when that is not a listening TCP socket.
    /// </summary>
    public static BoundListener Inherited(int descriptor)
    {
        Socket socket;
        try
        {
            socket = new Socket(new SafeSocketHandle(descriptor, ownsHandle: true));
        }
        catch (Exception e) when (e is SocketException or ArgumentException or NotSupportedException)
        {
            throw new ArgumentException($"file descriptor {descriptor} is not an open socket ({e.Message})", e);
        }
        if (socket.SocketType != SocketType.Stream || socket.LocalEndPoint is not IPEndPoint || !IsListening(socket))
        {
            socket.Dispose();
            throw new ArgumentException($"file descriptor {descriptor} is not a listening TCP socket");
        }
        return new BoundListener(socket);
    }

    private static bool IsListening(Socket socket)
    {
        try
        {
            return (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)! != 0;
        }
        catch (SocketException)
        {
            // The system cannot tell: the accept loop will.
            return true;
        }
    }

    /// <summary>A listener on 127.0.0.1 at a port the system chooses.</summary>
    public static BoundListener Loopback() => Bind(new IPEndPoint(IPAddress.Loopback, 0));

    /// <summary>
    /// The listening socket, which the caller now owns. The first call hands out the socket bound
    /// at construction; any later one (a node restarted, its log reopened) binds the same address
    /// again, as a process restarted at its address would.
    /// </summary>
    internal Socket Take() => Interlocked.Exchange(ref _socket, null) ?? BindSocket(EndPoint);

    private static Socket BindSocket(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // As Kestrel's listeners: a port held only by closed connections (TIME_WAIT) is free
            // on Linux, and the IPv6 wildcard takes IPv4 too.
            if (!OperatingSystem.IsWindows())
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.NoDelay = true;
            socket.Bind(endPoint);
            socket.Listen(512);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _socket, null)?.Dispose();
}
