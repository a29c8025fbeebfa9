using System.Net;
using System.Net.Sockets;

namespace Mesh.Registry.Hosting;

/// <summary>
/// Checks, before a node touches its data directory, that the ports it will listen on are free:
/// a port already taken should cost one line of error, not a data directory and a CA created for
/// nothing. The real listeners bind later, so a port taken in between still fails there.
/// </summary>
internal static class PortCheck
{
    /// <summary>Throws <see cref="StartupException"/> naming <paramref name="endPoint"/> when it is taken or forbidden.</summary>
    public static void EnsureFree(IPEndPoint endPoint, string purpose)
    {
        if (endPoint.Port == 0)
            return;
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // As the listeners do on Linux: a port held only by closed connections (TIME_WAIT) is free.
        if (!OperatingSystem.IsWindows())
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            var reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "the address is already in use" : "permission denied";
            throw new StartupException($"cannot listen for {purpose} on {endPoint}: {reason}", e);
        }
        catch (SocketException)
        {
            // Anything else (e.g. an address not on this machine) is left to the real bind to report.
        }
    }
}
