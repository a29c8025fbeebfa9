// Reads a `rateLimit:` mapping (routes, `rateLimits.inbound[]`, `rateLimits.outbound.<service>`)
// in the configuration readers' style: each field is checked where it is read, cross-field rules
// come from RateLimitOptions.Validate(), and every error carries file:line: path.
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Configuration;

internal sealed class RateLimitReader(YamlReader reader)
{
    /// <summary>Reads the limit fields of <paramref name="map"/>; the caller reports unknown fields.</summary>
    public RateLimitOptions ReadLimit(MapReader map, string name)
    {
        var defaults = new RateLimitOptions();
        var kind = reader.Enum(map.Get("kind"), map.Child("kind"), RateLimitKinds.All) ?? defaults.Kind;
        var keyKind = RateLimitKeyKind.Route;
        string? keyHeader = null;
        if (map.String("key") is { } key && !RateLimitKinds.TryParseKey(key, out keyKind, out keyHeader))
            reader.Error(map.Get("key")!, map.Child("key"), $"must be route, caller, clientIp or header:<name>, not '{key}'");
        var options = new RateLimitOptions
        {
            Name = name,
            Kind = kind,
            RequestsPerSecond = map.Int("requestsPerSecond", min: 1) ?? 0,
            Burst = map.Int("burst", min: 1) ?? 0,
            Limit = map.Int("limit", min: 1) ?? 0,
            Window = map.Duration("window") ?? defaults.Window,
            SegmentsPerWindow = map.Int("segmentsPerWindow", min: 1) ?? defaults.SegmentsPerWindow,
            Key = keyKind,
            KeyHeader = keyHeader,
            QueueLimit = map.Int("queue", min: 0) ?? 0,
            MaxPartitions = map.Int("maxPartitions", min: 1) ?? defaults.MaxPartitions,
            MeshWide = map.Bool("meshWide") ?? false,
        };
        // Range errors were reported above; report only what the fields say together.
        foreach (var (field, message) in options.Validate())
        {
            var node = map.Get(field);
            if (node is not null && HasRangeError(map, field))
                continue;
            if (node is null && IsRequiredMissing(field, options))
                reader.Error(map.Node, map.Child(field), message);
            else if (node is not null)
                reader.Error(node, map.Child(field), message);
        }
        return options;
    }

    /// <summary>A route's `rateLimit:`; null when absent.</summary>
    public RateLimitOptions? ReadRouteLimit(MapReader? map, string routeName)
    {
        if (map is null)
            return null;
        var options = ReadLimit(map, routeName);
        map.ReportUnknownFields();
        return options;
    }

    /// <summary>The bootstrap `rateLimits:` section.</summary>
    public RateLimitsConfig Read(MapReader? map)
    {
        if (map is null)
            return new RateLimitsConfig();
        var inbound = new List<InboundRateLimitConfig>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (item, itemPath) in map.Items("inbound"))
        {
            if (reader.Map(item, itemPath) is not { } entry)
                continue;
            var name = entry.String("name");
            if (string.IsNullOrWhiteSpace(name))
                reader.Error(item, entry.Child("name"), "is required");
            else if (!names.Add(name))
                reader.Error(entry.Get("name")!, entry.Child("name"), $"duplicate rate limit name '{name}'");
            var limit = ReadLimit(entry, name ?? "");
            string? pathPrefix = null;
            List<string> methods = [];
            if (entry.Map("match") is { } match)
            {
                pathPrefix = match.String("pathPrefix");
                if (pathPrefix is not null && !pathPrefix.StartsWith('/'))
                    reader.Error(match.Get("pathPrefix")!, match.Child("pathPrefix"), "must start with '/'");
                methods = [.. match.Strings("methods").Select(m => m.ToUpperInvariant())];
                match.ReportUnknownFields();
            }
            entry.ReportUnknownFields();
            inbound.Add(new InboundRateLimitConfig { Limit = limit, PathPrefix = pathPrefix, Methods = methods });
        }
        var outbound = new Dictionary<string, RateLimitOptions>(StringComparer.OrdinalIgnoreCase);
        if (map.Map("outbound") is { } services)
        {
            foreach (var (key, _) in services.Node.Children)
            {
                var service = (key as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
                if (services.Map(service) is not { } entry)
                    continue;
                outbound[service] = ReadLimit(entry, "upstream:" + service);
                entry.ReportUnknownFields();
            }
        }
        map.ReportUnknownFields();
        return new RateLimitsConfig { Inbound = inbound, Outbound = outbound };
    }

    // The field reader already said "must be > 0" (and returned the default) for a bad value.
    private bool HasRangeError(MapReader map, string field) =>
        reader.Errors.Any(e => e.Path == map.Child(field));

    private static bool IsRequiredMissing(string field, RateLimitOptions options) =>
        (field == "requestsPerSecond" && options.Kind == RateLimitKind.TokenBucket)
        || (field == "limit" && options.Kind != RateLimitKind.TokenBucket)
        || field == "key";
}
