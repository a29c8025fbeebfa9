// Where a connection was going before `mesh iptables` redirected it: Linux keeps the pre-NAT
// destination in conntrack, readable with getsockopt(SOL_IP, SO_ORIGINAL_DST) as a sockaddr_in.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Sidecar.Outbound.Interception;

internal static class OriginalDestination
{
    private const int SolIp = 0;
    private const int SoOriginalDst = 80;
    private const int AfInet = 2;

    /// <summary>
    /// The original destination of <paramref name="socket"/>, or null when it was not redirected:
    /// no conntrack entry (the call fails), or the entry's destination is the socket's own address
    /// (conntrack tracks connections nobody rewrote too).
    /// </summary>
    public static IPEndPoint? Read(Socket socket)
    {
        if (!OperatingSystem.IsLinux() || socket.LocalEndPoint is not IPEndPoint local || local.AddressFamily != AddressFamily.InterNetwork)
            return null;
        Span<byte> sockaddr = stackalloc byte[16];
        int length;
        try
        {
            length = socket.GetRawSocketOption(SolIp, SoOriginalDst, sockaddr);
        }
        catch (SocketException)
        {
            return null;
        }
        var original = Parse(sockaddr[..length]);
        return original is null || original.Equals(local) ? null : original;
    }

    /// <summary>Decodes a sockaddr_in: family (host order), port (network order), IPv4 address.</summary>
    internal static IPEndPoint? Parse(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 8 || BitConverter.ToUInt16(sockaddr[..2]) != AfInet)
            return null;
        var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..4]);
        return new IPEndPoint(new IPAddress(sockaddr[4..8]), port);
    }
}

/// <summary>The original destination of a redirected connection, set on the connection's features.</summary>
internal interface IOriginalDestinationFeature
{
    IPEndPoint OriginalDestination { get; }
}

internal sealed record OriginalDestinationFeature(IPEndPoint OriginalDestination) : IOriginalDestinationFeature;
