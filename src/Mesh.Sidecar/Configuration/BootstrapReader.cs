// Reads sidecar.yaml section by section; each section checks its own fields and the reader keeps
// going after a problem, so one run reports them all.
using System.Net;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.RateLimiting;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed partial class BootstrapReader(YamlReader reader)
{
    private readonly RouteReader _routes = new(reader);

    public SidecarConfig Read(string yaml)
    {
        var root = reader.Load(yaml);
        if (root is null)
        {
            if (reader.Errors.Count == 0)
                reader.Errors.Add(new ConfigError(reader.File, 1, "", "empty configuration; service.name is required"));
            return new SidecarConfig();
        }
        if (reader.Map(root, "") is not { } map)
            return new SidecarConfig();

        var defaults = ReadDefaults(map.Map("defaults"));
        var config = new SidecarConfig
        {
            Service = ReadService(map, root),
            App = ReadApp(map.Map("app")),
            Registry = ReadRegistry(map.Map("registry")),
            Listeners = ReadListeners(map.Map("listeners")),
            Upstream = ReadUpstream(map.Map("upstream")),
            Limits = ReadLimits(map.Map("limits")),
            Defaults = defaults,
            DrainTime = map.Duration("drainTime", allowZero: true) ?? TimeSpan.FromSeconds(5),
            Endpoints = ReadEndpoints(map.Map("endpoints")),
            Routes = _routes.ReadRoutes(map.Get("routes"), "routes"),
            RateLimits = new RateLimitReader(reader).Read(map.Map("rateLimits")),
            Tls = ReadTls(map.Map("tls")),
            Authorization = ReadAuthorization(map.Get("authorization"), yaml),
            Telemetry = ReadTelemetry(map.Map("telemetry")),
            Interception = ReadInterception(map.Map("interception")),
            AppProbes = ReadAppProbes(map.Map("appProbes")),
        };
        CheckSecurity(config, map);
        map.ReportUnknownFields();
        return config;
    }

    private ServiceIdentityConfig ReadService(MapReader root, YamlNode rootNode)
    {
        var map = root.Map("service");
        if (map is null)
        {
            reader.Error(rootNode, "service.name", "is required");
            return new ServiceIdentityConfig();
        }
        var name = map.String("name");
        if (string.IsNullOrWhiteSpace(name))
            reader.Error(map.Node, map.Child("name"), "is required");
        var service = new ServiceIdentityConfig
        {
            Name = name ?? "",
            Namespace = map.String("namespace") ?? "default",
            InstanceId = map.String("instanceId"),
            Address = map.String("address"),
            Version = map.String("version") ?? "v1",
            Weight = map.Int("weight", min: 0) ?? 100,
            Zone = map.String("zone") ?? "",
            Labels = reader.StringMap(map.Get("labels"), map.Child("labels")),
        };
        map.ReportUnknownFields();
        return service;
    }

    private AppConfig ReadApp(MapReader? map)
    {
        if (map is null)
            return new AppConfig();
        var address = map.String("address") ?? new AppConfig().Address;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            reader.Error(map.Get("address") ?? map.Node, map.Child("address"), $"must be an absolute http:// URL, not '{address}'");
        var healthPath = map.String("healthPath");
        if (healthPath is not null && !healthPath.StartsWith('/'))
            reader.Error(map.Get("healthPath")!, map.Child("healthPath"), $"must start with '/', not '{healthPath}'");
        var app = new AppConfig { Address = address.TrimEnd('/'), Protocol = ReadProtocol(map) ?? UpstreamProtocol.Http1, HealthPath = healthPath };
        map.ReportUnknownFields();
        return app;
    }

    private UpstreamProtocol? ReadProtocol(MapReader map) =>
        reader.Enum(map.Get("protocol"), map.Child("protocol"), ("http1", UpstreamProtocol.Http1), ("http2", UpstreamProtocol.Http2), ("h2c", UpstreamProtocol.Http2));

    private RegistryConfig ReadRegistry(MapReader? map)
    {
        if (map is null)
            return new RegistryConfig();
        var addresses = map.Strings("addresses");
        foreach (var (address, i) in addresses.Select((a, i) => (a, i)))
        {
            var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                reader.Error(map.Get("addresses")!, $"{map.Child("addresses")}[{i}]", $"'{address}' is not a registry address (http://host:port)");
        }
        var ttl = map.Duration("sessionTtl");
        if (ttl is { } t && (t < TimeSpan.FromSeconds(1) || t > TimeSpan.FromMinutes(10)))
            reader.Error(map.Get("sessionTtl")!, map.Child("sessionTtl"), "must be between 1s and 10m");
        var caFile = map.String("caFile");
        if (caFile is not null && !File.Exists(caFile))
            reader.Error(map.Get("caFile")!, map.Child("caFile"), $"no such file '{caFile}'");
        var registry = new RegistryConfig
        {
            Addresses = addresses,
            SessionTtl = ttl ?? new RegistryConfig().SessionTtl,
            CaFile = caFile,
            Token = map.String("token"),
        };
        map.ReportUnknownFields();
        return registry;
    }

    private ListenersConfig ReadListeners(MapReader? map)
    {
        var defaults = new ListenersConfig();
        if (map is null)
            return defaults;
        var listeners = new ListenersConfig
        {
            Outbound = ReadListener(map, "outbound", defaults.Outbound),
            Inbound = ReadListener(map, "inbound", defaults.Inbound),
            Admin = ReadListener(map, "admin", defaults.Admin),
        };
        var seen = new Dictionary<int, string>();
        foreach (var (name, listener) in new[] { ("outbound", listeners.Outbound), ("inbound", listeners.Inbound), ("admin", listeners.Admin) })
        {
            if (listener.Port != 0 && !seen.TryAdd(listener.Port, name))
                reader.Error(map.Get(name) ?? map.Node, map.Child(name), $"port {listener.Port} is already used by listeners.{seen[listener.Port]}");
        }
        map.ReportUnknownFields();
        return listeners;
    }

    private ListenerConfig ReadListener(MapReader parent, string name, ListenerConfig defaults)
    {
        var node = parent.Get(name);
        if (node is null)
            return defaults;
        var path = parent.Child(name);
        string? address;
        ListenerProtocols? protocols = null;
        if (node is YamlScalarNode)
        {
            address = reader.String(node, path);
        }
        else if (reader.Map(node, path) is { } map)
        {
            address = map.String("address");
            protocols = reader.Enum(map.Get("protocols"), map.Child("protocols"),
                ("http1AndHttp2", ListenerProtocols.Http1AndHttp2), ("http1", ListenerProtocols.Http1), ("h2c", ListenerProtocols.H2c));
            map.ReportUnknownFields();
            path = map.Child("address");
        }
        else
        {
            return defaults;
        }
        var listener = defaults with { Protocols = protocols ?? defaults.Protocols };
        if (address is null)
            return listener;
        if (!TryParseHostPort(address, out var host, out var port))
        {
            reader.Error(node, path, $"must be ip:port (e.g. 127.0.0.1:15001, [::]:15006, localhost:0), not '{address}'");
            return listener;
        }
        return listener with { Address = host, Port = port };
    }

    internal static bool TryParseHostPort(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out port) || port is < 0 or > 65535)
            return false;
        host = text[..colon].Trim('[', ']');
        return host is "localhost" or "*" || IPAddress.TryParse(host, out _);
    }

    private UpstreamConfig ReadUpstream(MapReader? map)
    {
        var defaults = new UpstreamConfig();
        if (map is null)
            return defaults;
        var upstream = new UpstreamConfig
        {
            Protocol = ReadProtocol(map) ?? defaults.Protocol,
            ConnectTimeout = map.Duration("connectTimeout") ?? defaults.ConnectTimeout,
            PooledConnectionIdleTimeout = map.Duration("pooledConnectionIdleTimeout") ?? defaults.PooledConnectionIdleTimeout,
        };
        map.ReportUnknownFields();
        return upstream;
    }

    private LimitsConfig ReadLimits(MapReader? map)
    {
        var defaults = new LimitsConfig();
        if (map is null)
            return defaults;
        var bodyNode = map.Get("maxRequestBodySize");
        var body = reader.String(bodyNode, map.Child("maxRequestBodySize")) is "unlimited"
            ? null
            : reader.Size(bodyNode, map.Child("maxRequestBodySize")) ?? defaults.MaxRequestBodySize;
        var headersSize = reader.Size(map.Get("maxRequestHeadersTotalSize"), map.Child("maxRequestHeadersTotalSize"));
        if (headersSize is <= 0 or > int.MaxValue)
        {
            reader.Error(map.Get("maxRequestHeadersTotalSize")!, map.Child("maxRequestHeadersTotalSize"), "must be > 0 and < 2GB");
            headersSize = null;
        }
        var limits = new LimitsConfig
        {
            MaxRequestHeadersTotalSize = (int?)headersSize ?? defaults.MaxRequestHeadersTotalSize,
            MaxRequestHeaderCount = map.Int("maxRequestHeaderCount", min: 1) ?? defaults.MaxRequestHeaderCount,
            MaxRequestBodySize = body,
            RequestHeadersTimeout = map.Duration("requestHeadersTimeout") ?? defaults.RequestHeadersTimeout,
            KeepAliveTimeout = map.Duration("keepAliveTimeout") ?? defaults.KeepAliveTimeout,
            MaxConcurrentConnections = map.Int("maxConcurrentConnections", min: 1) ?? defaults.MaxConcurrentConnections,
            MaxStreamsPerConnection = map.Int("maxStreamsPerConnection", min: 1) ?? defaults.MaxStreamsPerConnection,
            MinRequestBodyBytesPerSecond = ReadMinBodyRate(map, defaults.MinRequestBodyBytesPerSecond),
            MinRequestBodyDataRateGracePeriod = ReadGracePeriod(map, defaults.MinRequestBodyDataRateGracePeriod),
        };
        map.ReportUnknownFields();
        return limits;
    }

    /// <summary>`minRequestBodyDataRate`: bytes per second (a size such as 240 or 1KB), or `off`.</summary>
    private long? ReadMinBodyRate(MapReader map, long? fallback)
    {
        const string field = "minRequestBodyDataRate";
        var node = map.Get(field);
        if (node is null)
            return fallback;
        if (reader.String(node, map.Child(field)) is "off")
            return null;
        var rate = reader.Size(node, map.Child(field));
        if (rate is <= 0)
        {
            reader.Error(node, map.Child(field), "must be > 0 bytes per second, or off");
            return fallback;
        }
        return rate ?? fallback;
    }

    private TimeSpan ReadGracePeriod(MapReader map, TimeSpan fallback)
    {
        const string field = "minRequestBodyDataRateGracePeriod";
        var grace = map.Duration(field);
        // Kestrel checks rates on its 1 s heartbeat and refuses a grace period that is not longer.
        if (grace is { } value && value <= TimeSpan.FromSeconds(1))
        {
            reader.Error(map.Get(field)!, map.Child(field), "must be longer than 1s (Kestrel checks rates once a second)");
            return fallback;
        }
        return grace ?? fallback;
    }

    private RouteDefaults ReadDefaults(MapReader? map)
    {
        var defaults = new RouteDefaults();
        if (map is null)
            return defaults;
        var loadBalancing = map.String("loadBalancing");
        if (loadBalancing is not null && !LoadBalancingPolicyNames.IsKnown(loadBalancing))
            reader.Error(map.Get("loadBalancing")!, map.Child("loadBalancing"), $"unknown policy '{loadBalancing}'; known: {string.Join(", ", LoadBalancingPolicyNames.Names)}");
        var result = new RouteDefaults
        {
            Timeout = map.Duration("timeout") ?? defaults.Timeout,
            Retries = _routes.ReadRetries(map.Map("retries"), defaults.Retries)!,
            LoadBalancing = loadBalancing ?? defaults.LoadBalancing,
            OutlierDetection = _routes.ReadOutlierDetection(map.Map("outlierDetection"), defaults.OutlierDetection)!,
            RetryBudget = ReadRetryBudget(map.Map("retryBudget")) ?? defaults.RetryBudget,
        };
        map.ReportUnknownFields();
        return result;
    }

    private RetryBudgetConfig? ReadRetryBudget(MapReader? map)
    {
        if (map is null)
            return null;
        var defaults = new RetryBudgetConfig();
        var budget = new RetryBudgetConfig
        {
            Ratio = reader.Double(map.Get("ratio"), map.Child("ratio"), 0, 10) ?? defaults.Ratio,
            MinRetriesPerSecond = map.Int("minRetriesPerSecond", min: 0) ?? defaults.MinRetriesPerSecond,
            Window = map.Duration("window") ?? defaults.Window,
        };
        map.ReportUnknownFields();
        return budget;
    }

    private List<ServiceEndpoints> ReadEndpoints(MapReader? map)
    {
        var result = new List<ServiceEndpoints>();
        if (map is null)
            return result;
        foreach (var (key, _) in map.Node.Children)
        {
            var service = ((YamlScalarNode)key).Value ?? "";
            var endpoints = new List<MeshEndpoint>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (item, itemPath) in map.Items(service))
            {
                if (reader.Map(item, itemPath) is not { } entry)
                    continue;
                var address = entry.String("address");
                if (string.IsNullOrWhiteSpace(address))
                    reader.Error(item, entry.Child("address"), "is required");
                var portNode = entry.Get("port");
                var port = reader.Int(portNode, entry.Child("port"), min: 1, max: 65535);
                if (portNode is null)
                    reader.Error(item, entry.Child("port"), "is required");
                var id = entry.String("id") ?? $"{address}:{port}";
                if (!ids.Add(id))
                    reader.Error(item, entry.Child("id"), $"duplicate endpoint id '{id}'");
                var labels = reader.StringMap(entry.Get("labels"), entry.Child("labels"));
                endpoints.Add(new MeshEndpoint
                {
                    Id = id,
                    Address = address ?? "",
                    Port = port ?? 0,
                    Weight = entry.Int("weight", min: 0) ?? 100,
                    Version = entry.String("version") ?? "",
                    Zone = entry.String("zone") ?? "",
                    Labels = labels,
                    // The operator wrote this in the sidecar's own file, so it may name the peer's namespace.
                    IdentityNamespace = labels.TryGetValue(MeshEndpoint.NamespaceLabel, out var ns)
                        && Mesh.Registry.Contracts.SpiffeId.ValidateSegment(ns, "namespace") is null ? ns : null,
                });
                entry.ReportUnknownFields();
            }
            result.Add(new ServiceEndpoints(service, 1, endpoints));
        }
        return result;
    }
}
