// Reads route documents (the `routes:` list of sidecar.yaml, or one registry document) and checks
// each field where it is read, so every error carries its line and path.
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.RateLimiting;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed class RouteReader(YamlReader reader)
{
    public List<RouteConfig> ReadRoutes(YamlNode? node, string path)
    {
        var routes = new List<RouteConfig>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (item, itemPath) in reader.Items(node, path))
        {
            var route = ReadRoute(item, itemPath, defaultName: null);
            if (route is null)
                continue;
            if (route.Name.Length > 0 && !names.Add(route.Name))
                reader.Error(item, itemPath + ".name", $"duplicate route name '{route.Name}'");
            routes.Add(route);
        }
        return routes;
    }

    public RouteConfig? ReadRoute(YamlNode node, string path, string? defaultName)
    {
        if (reader.Map(node, path) is not { } map)
        {
            // Map() has already reported anything but a null scalar ("~", "null").
            if (node is YamlScalarNode && YamlReader.IsNull(node))
                reader.Error(node, path, "must be a mapping");
            return null;
        }
        var name = map.String("name") ?? defaultName;
        if (string.IsNullOrWhiteSpace(name))
            reader.Error(node, map.Child("name"), "is required");

        var service = map.String("service");
        var split = ReadSplit(map, service);
        if (service is null && split.Count == 0)
            reader.Error(node, map.Child("service"), "is required (or give split: entries with service:)");

        var loadBalancing = map.String("loadBalancing");
        if (loadBalancing is not null && !LoadBalancingPolicyNames.IsKnown(loadBalancing))
            reader.Error(map.Get("loadBalancing")!, map.Child("loadBalancing"), $"unknown policy '{loadBalancing}'; known: {string.Join(", ", LoadBalancingPolicyNames.Names)}");

        var route = new RouteConfig
        {
            Name = name ?? "",
            Match = ReadMatch(map.Map("match")),
            Service = service,
            Split = split,
            Timeout = map.Duration("timeout"),
            Retries = ReadRetries(map.Map("retries"), null),
            LoadBalancing = loadBalancing,
            OutlierDetection = ReadOutlierDetection(map.Map("outlierDetection"), null),
            RateLimit = new RateLimitReader(reader).ReadRouteLimit(map.Map("rateLimit"), name ?? ""),
        };
        map.ReportUnknownFields();
        return route;
    }

    private RouteMatchConfig ReadMatch(MapReader? map)
    {
        if (map is null)
            return new RouteMatchConfig();
        var hosts = map.Strings("hosts");
        hosts.AddRange(map.Strings("host"));
        var pathPrefix = map.String("pathPrefix");
        if (pathPrefix is not null && !pathPrefix.StartsWith('/'))
            reader.Error(map.Get("pathPrefix")!, map.Child("pathPrefix"), "must start with '/'");
        var methods = map.Strings("methods").Select(m => m.ToUpperInvariant()).ToList();
        var headers = new List<HeaderMatchConfig>();
        foreach (var (item, itemPath) in map.Items("headers"))
        {
            if (reader.Map(item, itemPath) is not { } header)
                continue;
            var headerName = header.String("name");
            if (string.IsNullOrWhiteSpace(headerName))
                reader.Error(item, header.Child("name"), "is required");
            var modes = new List<(HeaderMatchMode Mode, string Value)>();
            if (header.String("exact") is { } exact)
                modes.Add((HeaderMatchMode.Exact, exact));
            if (header.String("prefix") is { } prefix)
                modes.Add((HeaderMatchMode.Prefix, prefix));
            if (header.Bool("present") is true)
                modes.Add((HeaderMatchMode.Present, ""));
            if (modes.Count != 1)
                reader.Error(item, itemPath, "needs exactly one of exact:, prefix:, present: true");
            headers.Add(new HeaderMatchConfig
            {
                Name = headerName ?? "",
                Mode = modes.Count > 0 ? modes[0].Mode : HeaderMatchMode.Present,
                Value = modes.Count > 0 ? modes[0].Value : "",
            });
            header.ReportUnknownFields();
        }
        map.ReportUnknownFields();
        return new RouteMatchConfig { Hosts = hosts, PathPrefix = pathPrefix, Methods = methods, Headers = headers };
    }

    private List<SplitConfig> ReadSplit(MapReader route, string? defaultService)
    {
        var split = new List<SplitConfig>();
        foreach (var (item, itemPath) in route.Items("split"))
        {
            if (reader.Map(item, itemPath) is not { } entry)
                continue;
            var service = entry.String("service") ?? defaultService;
            if (service is null)
                reader.Error(item, entry.Child("service"), "is required when the route has no service:");
            var weightNode = entry.Get("weight");
            int? weight = null;
            if (weightNode is null)
                reader.Error(item, entry.Child("weight"), "is required");
            else
                weight = reader.Int(weightNode, entry.Child("weight"), min: 1);
            split.Add(new SplitConfig { Service = service ?? "", Version = entry.String("version"), Weight = weight ?? 0 });
            entry.ReportUnknownFields();
        }
        return split;
    }

    public RetryConfig? ReadRetries(MapReader? map, RetryConfig? fallback)
    {
        if (map is null)
            return fallback;
        var defaults = fallback ?? new RetryConfig();
        var statusCodes = new List<int>();
        var connectFailure = false;
        var retryOn = map.Get("retryOn");
        foreach (var (item, itemPath) in reader.Items(retryOn, map.Child("retryOn")))
        {
            var text = reader.String(item, itemPath);
            if (text is null)
                continue;
            if (text is "connect-failure" or "connectFailure")
                connectFailure = true;
            else if (int.TryParse(text, out var code) && code is >= 100 and <= 599)
                statusCodes.Add(code);
            else
                reader.Error(item, itemPath, $"must be an HTTP status code (100-599) or connect-failure, not '{text}'");
        }
        var config = new RetryConfig
        {
            Attempts = map.Int("attempts", min: 1, max: 10) ?? defaults.Attempts,
            RetryOnStatusCodes = retryOn is null ? defaults.RetryOnStatusCodes : statusCodes,
            RetryOnConnectFailure = retryOn is null ? defaults.RetryOnConnectFailure : connectFailure,
            BaseDelay = map.Duration("baseDelay", allowZero: true) ?? defaults.BaseDelay,
        };
        map.ReportUnknownFields();
        return config;
    }

    public OutlierDetectionConfig? ReadOutlierDetection(MapReader? map, OutlierDetectionConfig? fallback)
    {
        if (map is null)
            return fallback;
        var defaults = fallback ?? new OutlierDetectionConfig();
        var config = new OutlierDetectionConfig
        {
            ConsecutiveFailures = map.Int("consecutiveFailures", min: 0) ?? defaults.ConsecutiveFailures,
            BaseEjectionTime = map.Duration("baseEjectionTime") ?? defaults.BaseEjectionTime,
            MaxEjectionTime = map.Duration("maxEjectionTime") ?? defaults.MaxEjectionTime,
            MaxEjectionPercent = map.Int("maxEjectionPercent", min: 0, max: 100) ?? defaults.MaxEjectionPercent,
        };
        if (config.MaxEjectionTime < config.BaseEjectionTime)
            reader.Error(map.Node, map.Child("maxEjectionTime"), "must be >= baseEjectionTime");
        map.ReportUnknownFields();
        return config;
    }
}
