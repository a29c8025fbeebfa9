using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Mesh.Cli.Demo;

/// <summary>
/// Ports for the demo's registry nodes: the one place in the demo that cannot bind port 0 and
/// read the port back. Raft peers name each other by address before any of them binds (DotNext's
/// TCP transport takes its own endpoint as its member identity), so the ports are picked first;
/// if another process takes one before its node binds it, the cluster start is retried on fresh
/// ports (<see cref="IsAddressInUse"/>). Everything else in the demo binds port 0.
/// </summary>
internal static class RegistryPorts
{
    /// <summary>How many fresh sets of ports the demo tries before it gives up.</summary>
    public const int Attempts = 5;

    public static IPEndPoint Pick()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>Whether a start failed because a port was taken (anywhere in the exception chain).</summary>
    public static bool IsAddressInUse(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
                return true;
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsAddressInUse))
                return true;
        }
        return false;
    }
}
