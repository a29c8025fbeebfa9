// The `interception:` section of sidecar.yaml (docs/interception.md): what the
// outbound listener does with connections `mesh iptables` redirected to it.
using System.Net;

namespace Mesh.Sidecar.Configuration;

public sealed record InterceptionConfig
{
    /// <summary>
    /// Recover the original destination of redirected connections (Linux only). On by default:
    /// a connection nobody redirected has none, so explicit mode is unaffected.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How long an intercepted connection may stay silent before it is taken for a server-first, non-HTTP protocol and passed through.</summary>
    public TimeSpan SniffTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Virtual addresses: an original destination that names a mesh service.</summary>
    public IReadOnlyList<VirtualAddress> Services { get; init; } = [];
}

/// <summary>
/// "10.96.0.10" (any port), "10.96.0.10:8080" (exact) or ":8080" (any address on that port):
/// traffic redirected from such a destination is routed to <see cref="Service"/>.
/// </summary>
public sealed record VirtualAddress(string Service, IPAddress? Address, int? Port)
{
    public static bool TryParse(string service, string text, out VirtualAddress? parsed)
    {
        parsed = null;
        text = text.Trim();
        if (text.StartsWith(':'))
        {
            if (!int.TryParse(text.AsSpan(1), out var port) || port is < 1 or > 65535)
                return false;
            parsed = new VirtualAddress(service, null, port);
            return true;
        }
        if (IPAddress.TryParse(text, out var address) && !text.Contains(':', StringComparison.Ordinal))
        {
            parsed = new VirtualAddress(service, address, null);
            return true;
        }
        if (IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port != 0)
        {
            parsed = new VirtualAddress(service, endPoint.Address, endPoint.Port);
            return true;
        }
        return false;
    }

    public override string ToString() => Address is null ? $":{Port}" : Port is null ? Address.ToString() : new IPEndPoint(Address, Port.Value).ToString();
}
