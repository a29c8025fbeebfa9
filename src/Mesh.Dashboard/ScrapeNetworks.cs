// The networks the dashboard may scrape. An instance's address is whatever its registrant wrote,
// so without this a join-token holder could point the operator's dashboard at any host the
// operator's machine reaches (cloud metadata at 169.254.169.254, an admin port on the operator's
// own loopback). The check is made on the address actually connected to, after name resolution,
// so a DNS name cannot smuggle in an address outside the networks.
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Dashboard;

internal sealed class ScrapeNetworks
{
    /// <summary>Loopback and the private ranges (RFC 1918, IPv6 unique local): where meshes run. Link-local (cloud metadata) is not among them.</summary>
    public static readonly ScrapeNetworks Private = new([
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fc00::/7"),
    ]);

    public const string PrivateText = "127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,::1/128,fc00::/7";

    private ScrapeNetworks(IReadOnlyList<IPNetwork> networks) => Networks = networks;

    public IReadOnlyList<IPNetwork> Networks { get; }

    /// <summary>Comma-separated CIDRs (<c>10.0.0.0/8,fd00::/8</c>); a bad entry is named in the exception.</summary>
    public static ScrapeNetworks Parse(string text)
    {
        var networks = new List<IPNetwork>();
        foreach (var entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!IPNetwork.TryParse(entry, out var network))
                throw new FormatException($"'{entry}' is not a network in CIDR form (e.g. 10.0.0.0/8)");
            networks.Add(network);
        }
        if (networks.Count == 0)
            throw new FormatException("no network given (e.g. 10.0.0.0/8)");
        return new ScrapeNetworks(networks);
    }

    public bool Allows(IPAddress address)
    {
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return Networks.Any(n => n.Contains(plain));
    }

    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/> that connects only to addresses inside the networks.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = addresses.Where(Allows).ToArray();
        if (allowed.Length == 0)
            throw new OutsideScrapeNetworksException(host, this);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override string ToString() => string.Join(',', Networks.Select(n => n.ToString()));
}

/// <summary>An instance's address is outside the networks the dashboard may scrape.</summary>
internal sealed class OutsideScrapeNetworksException(string host, ScrapeNetworks networks)
    : IOException(string.Create(CultureInfo.InvariantCulture, $"{host} is outside the scrape networks ({networks}); see mesh dashboard --scrape-networks"));
