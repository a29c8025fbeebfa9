// The kernel's table of listening TCP sockets (/proc/net/tcp and tcp6), to tell from outside
// which socket serves an address: the same inode before and after a start means the socket
// bound first is the one serving, not a socket closed and bound again at that port later.
using System.Globalization;
using System.Net;

namespace Mesh.Testing;

internal static class ListeningSockets
{
    private const string Listen = "0A";

    /// <summary>The inode of the socket listening on <paramref name="endPoint"/> (IPv4, or the IPv6 wildcard), or null when none listens there.</summary>
    public static long? InodeOf(IPEndPoint endPoint)
    {
        foreach (var (local, inode) in Read("/proc/net/tcp").Concat(Read("/proc/net/tcp6")))
        {
            if (local.Port == endPoint.Port && (local.Address.Equals(endPoint.Address) || local.Address.Equals(IPAddress.IPv6Any) || local.Address.Equals(IPAddress.Any)))
                return inode;
        }
        return null;
    }

    public static bool IsListening(int port) => InodeOf(new IPEndPoint(IPAddress.Loopback, port)) is not null;

    private static IEnumerable<(IPEndPoint Local, long Inode)> Read(string table)
    {
        if (!File.Exists(table))
            yield break;
        foreach (var line in File.ReadLines(table).Skip(1))
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || fields[3] != Listen)
                continue;
            var colon = fields[1].IndexOf(':');
            var address = Convert.FromHexString(fields[1][..colon]);
            // The kernel prints each 32-bit word of the address in host (little-endian) order.
            for (var word = 0; word < address.Length; word += 4)
                Array.Reverse(address, word, 4);
            var port = int.Parse(fields[1][(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            yield return (new IPEndPoint(new IPAddress(address), port), long.Parse(fields[9], CultureInfo.InvariantCulture));
        }
    }
}
