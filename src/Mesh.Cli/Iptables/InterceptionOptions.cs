using System.Globalization;
using System.Net;

namespace Mesh.Cli.Iptables;

/// <summary>What <c>mesh iptables</c> redirects, and what it leaves alone. Defaults match the sidecar's listeners.</summary>
internal sealed record InterceptionOptions
{
    public int OutboundPort { get; init; } = 15001;
    public int InboundPort { get; init; } = 15006;
    /// <summary>The sidecar's user id: its own connections must never be redirected back to itself.</summary>
    public int ProxyUid { get; init; } = 1337;
    /// <summary>Optionally also exempt a group id (for sidecars that share the app's uid but not its gid).</summary>
    public int? ProxyGid { get; init; }
    public IReadOnlyList<int> ExcludeInboundPorts { get; init; } = [];
    public IReadOnlyList<int> ExcludeOutboundPorts { get; init; } = [];
    /// <summary>IPv4 networks the app reaches directly (e.g. a cloud metadata address), as "a.b.c.d/len".</summary>
    public IReadOnlyList<string> ExcludeOutboundCidrs { get; init; } = [];

    /// <summary>Parses "15000,15020" (commas or spaces; empty = none); throws FormatException naming the flag.</summary>
    public static IReadOnlyList<int> ParsePorts(string? text, string flag)
    {
        var ports = new List<int>();
        foreach (var part in Split(text))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new FormatException($"{flag}: '{part}' is not a port (1-65535)");
            ports.Add(port);
        }
        return ports;
    }

    /// <summary>Parses "169.254.169.254/32,10.0.0.0/8" (a bare address means /32); throws FormatException naming the flag.</summary>
    public static IReadOnlyList<string> ParseCidrs(string? text, string flag)
    {
        var cidrs = new List<string>();
        foreach (var part in Split(text))
        {
            var candidate = part.Contains('/', StringComparison.Ordinal) ? part : part + "/32";
            // A base address with host bits set is a typo iptables would silently widen; refuse it.
            if (!IPNetwork.TryParse(candidate, out var network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                || network.BaseAddress.ToString() != candidate[..candidate.IndexOf('/', StringComparison.Ordinal)])
                throw new FormatException($"{flag}: '{part}' is not an IPv4 address or CIDR (a.b.c.d/len with no host bits set)");
            cidrs.Add(network.ToString());
        }
        return cidrs;
    }

    private static string[] Split(string? text) =>
        (text ?? "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
