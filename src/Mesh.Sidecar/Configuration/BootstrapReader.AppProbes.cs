// The `appProbes:` section: { <name>: { port, path, scheme, timeout } }.
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed partial class BootstrapReader
{
    private Dictionary<string, AppProbeConfig> ReadAppProbes(MapReader? map)
    {
        var probes = new Dictionary<string, AppProbeConfig>(StringComparer.Ordinal);
        if (map is null)
            return probes;
        var defaults = new AppProbeConfig();
        foreach (var (key, value) in map.Node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            var path = map.Child(name);
            if (!ProbeName().IsMatch(name))
                reader.Error(key, path, "a probe name is letters, digits, '.', '_' and '-' (it is the last segment of /app-health/{name})");
            if (reader.Map(value, path) is not { } entry)
            {
                if (YamlReader.IsNull(value))
                    reader.Error(key, path, "must be a mapping with at least port");
                continue;
            }
            var port = entry.Int("port", min: 1, max: 65535);
            if (entry.Get("port") is null)
                reader.Error(value, entry.Child("port"), "is required");
            var probePath = entry.String("path") ?? defaults.Path;
            if (!probePath.StartsWith('/'))
                reader.Error(entry.Get("path")!, entry.Child("path"), $"must start with '/', not '{probePath}'");
            var probe = new AppProbeConfig
            {
                Port = port ?? 0,
                Path = probePath,
                Scheme = reader.Enum(entry.Get("scheme"), entry.Child("scheme"), ("http", AppProbeScheme.Http), ("https", AppProbeScheme.Https)) ?? defaults.Scheme,
                Timeout = entry.Duration("timeout") ?? defaults.Timeout,
            };
            entry.ReportUnknownFields();
            probes[name] = probe;
        }
        return probes;
    }

    [GeneratedRegex(@"^[A-Za-z0-9._-]+$")]
    private static partial Regex ProbeName();
}
