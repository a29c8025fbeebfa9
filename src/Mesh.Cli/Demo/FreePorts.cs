using System.Net;
using System.Net.Sockets;

namespace Mesh.Cli.Demo;

/// <summary>Free loopback ports, so several demos (or a demo and tests) can run side by side.</summary>
internal static class FreePorts
{
    public static IPEndPoint Next()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}
