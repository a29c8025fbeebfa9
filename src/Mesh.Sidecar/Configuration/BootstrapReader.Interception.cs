// The `interception:` section: enabled, sniffTimeout, services { name: address | [addresses] }.
namespace Mesh.Sidecar.Configuration;

internal sealed partial class BootstrapReader
{
    private InterceptionConfig ReadInterception(MapReader? map)
    {
        var defaults = new InterceptionConfig();
        if (map is null)
            return defaults;
        var services = new List<VirtualAddress>();
        if (map.Map("services") is { } byService)
        {
            foreach (var (key, value) in byService.Node.Children)
            {
                var service = (key as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
                var path = byService.Child(service);
                foreach (var text in reader.Strings(value, path))
                {
                    if (VirtualAddress.TryParse(service, text, out var address))
                        services.Add(address!);
                    else
                        reader.Error(value, path, $"'{text}' is not a virtual address (ip, ip:port or :port)");
                }
            }
        }
        var interception = new InterceptionConfig
        {
            Enabled = map.Bool("enabled") ?? defaults.Enabled,
            SniffTimeout = map.Duration("sniffTimeout") ?? defaults.SniffTimeout,
            Services = services,
        };
        map.ReportUnknownFields();
        return interception;
    }
}
