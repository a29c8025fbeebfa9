// Where the dashboard may send a request: only the admin listener of a sidecar the registry lists,
// at the instance's registered address and the admin port its sidecar registered (label
// `adminPort`), and only for /metrics and /config_dump. The page asks for nothing by address, so
// the dashboard cannot be turned into a proxy for other hosts (no SSRF beyond these).
using System.Globalization;
using System.Net;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;

namespace Mesh.Dashboard;

internal static class SidecarTargets
{
    /// <summary>The admin URL of an instance's sidecar, or null when it registered none or an unusable one.</summary>
    public static Uri? AdminUrl(ServiceInstance instance)
    {
        if (!instance.Labels.TryGetValue(InstanceLabels.AdminPort, out var text)
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            return null;
        var address = instance.Address;
        if (IPAddress.TryParse(address, out var ip))
            address = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        else if (Uri.CheckHostName(address) != UriHostNameType.Dns)
            return null;
        return Uri.TryCreate($"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}/", UriKind.Absolute, out var url) ? url : null;
    }
}
