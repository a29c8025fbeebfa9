using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

/// <summary>
/// The injection of one workload document: checks it has what injection needs (reporting each
/// missing piece with its place), then adds the init container, the sidecar and the annotations,
/// and points the app containers' own <c>httpGet</c> probes at the sidecar's admin port (see
/// <see cref="AppProbe"/>).
/// </summary>
internal sealed class WorkloadInjection
{
    private readonly ManifestDocument _document;
    private readonly InjectOptions _options;
    private readonly YamlMappingNode? _podSpec;
    private readonly YamlMappingNode? _podMetadata;
    private readonly string _name;
    private readonly string _namespace;
    private readonly List<AppProbe> _appProbes = [];

    public WorkloadInjection(ManifestDocument document, string sourceName, InjectOptions options, List<string> problems)
    {
        _document = document;
        _options = options;
        var root = document.Node as YamlMappingNode;
        var kind = ManifestInjector.Kind(root);
        _name = ManifestInjector.Scalar(root, "metadata", "name") ?? "";
        _namespace = ManifestInjector.Scalar(root, "metadata", "namespace") ?? "default";
        // The line of the workload's first key, not of the "---" before it.
        var where = $"{sourceName}:{root?.Start.Line ?? document.Start.Line}: {kind} '{_name}'";

        if (_name.Length == 0)
            problems.Add($"{where}: metadata.name is missing");
        var template = Child(root, "spec") is YamlMappingNode spec ? Child(spec, "template") as YamlMappingNode : null;
        _podSpec = Child(template, "spec") as YamlMappingNode;
        if (_podSpec is null)
        {
            problems.Add($"{where}: spec.template.spec is missing");
            return;
        }

        if (Child(_podSpec, "containers") is not YamlSequenceNode { Children.Count: > 0 } containers)
        {
            problems.Add($"{where}: spec.template.spec.containers must list at least one container");
            return;
        }

        foreach (var (container, i) in containers.Children.Select((c, i) => (c, i)))
        {
            if (ManifestInjector.Scalar(container, "name") is "mesh-sidecar")
                AlreadyInjected = true;
            if (container is not YamlMappingNode)
                problems.Add($"{where}: spec.template.spec.containers[{i}] must be a mapping");
        }

        _podMetadata = GetOrAdd(template!, "metadata");
        var annotations = Child(_podMetadata, "annotations") as YamlMappingNode;
        AlreadyInjected |= ManifestInjector.Scalar(annotations, ManifestInjector.StatusAnnotation) == "injected";
        if (!AlreadyInjected)
            FindAppProbes(containers, sourceName, kind, problems);
        IsValid = problems.Count == 0;
    }

    /// <summary>
    /// An app container's <c>httpGet</c> probe. With strict mTLS the pod's iptables rules send the
    /// kubelet's plaintext probe of an app port to the sidecar's inbound listener, which refuses
    /// it; so, as Istio does, the probe is rewritten to the admin port's <c>/app-health/{Name}</c>
    /// and the sidecar calls the app's original target itself (its <c>appProbes:</c>).
    /// </summary>
    private sealed record AppProbe(string Name, YamlMappingNode HttpGet, int Port, string Path, string Scheme, int TimeoutSeconds);

    private static readonly (string Field, string Kind)[] ProbeFields = [("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup")];

    /// <summary>Every app container's httpGet probe, with its port resolved; tcpSocket, exec and grpc probes need no rewrite.</summary>
    private void FindAppProbes(YamlSequenceNode containers, string sourceName, string? kind, List<string> problems)
    {
        for (var i = 0; i < containers.Children.Count; i++)
        {
            if (containers.Children[i] is not YamlMappingNode container)
                continue;
            var containerName = ManifestInjector.Scalar(container, "name") ?? $"container-{i}";
            foreach (var (field, probeKind) in ProbeFields)
            {
                if (Child(container, field) is not YamlMappingNode probe || Child(probe, "httpGet") is not YamlMappingNode httpGet)
                    continue;
                // A probe of another host is not redirected by the pod's rules.
                if (ManifestInjector.Scalar(httpGet, "host") is { Length: > 0 })
                    continue;
                var at = $"{sourceName}:{httpGet.Start.Line}: {kind} '{_name}': spec.template.spec.containers[{i}].{field}.httpGet";
                var portText = ManifestInjector.Scalar(httpGet, "port");
                int port;
                if (portText is null)
                {
                    problems.Add($"{at}.port is missing");
                    continue;
                }
                if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535)
                {
                }
                else if (NamedPort(container, portText) is { } named)
                {
                    port = named;
                }
                else
                {
                    problems.Add($"{at}.port: '{portText}' is neither a port number nor the name of one of container '{containerName}''s ports");
                    continue;
                }
                var scheme = (ManifestInjector.Scalar(httpGet, "scheme") ?? "HTTP").ToUpperInvariant();
                if (scheme is not ("HTTP" or "HTTPS"))
                {
                    problems.Add($"{at}.scheme: must be HTTP or HTTPS, not '{scheme}'");
                    continue;
                }
                var path = ManifestInjector.Scalar(httpGet, "path") is { Length: > 0 } given ? given : "/";
                if (!path.StartsWith('/'))
                    path = "/" + path;
                var timeout = int.TryParse(ManifestInjector.Scalar(probe, "timeoutSeconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds >= 1 ? seconds : 1;
                _appProbes.Add(new AppProbe($"{containerName}-{probeKind}", httpGet, port, path, scheme.ToLowerInvariant(), timeout));
            }
        }
    }

    /// <summary>The containerPort of the container's port named <paramref name="name"/>.</summary>
    private static int? NamedPort(YamlMappingNode container, string name)
    {
        if (Child(container, "ports") is not YamlSequenceNode ports)
            return null;
        foreach (var port in ports.Children)
        {
            if (ManifestInjector.Scalar(port, "name") == name
                && int.TryParse(ManifestInjector.Scalar(port, "containerPort"), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                && number is >= 1 and <= 65535)
                return number;
        }
        return null;
    }

    public bool AlreadyInjected { get; }

    public bool IsValid { get; }

    public string ConfigMapName => $"{_name}-mesh-sidecar";

    /// <summary>The service name: the annotation if set, else the pod's <c>app</c> label, else the workload name.</summary>
    private string ServiceName =>
        ManifestInjector.Scalar(_podMetadata, "annotations", ManifestInjector.ServiceAnnotation)
        ?? ManifestInjector.Scalar(_podMetadata, "labels", "app")
        ?? ManifestInjector.Scalar(_podMetadata, "labels", "app.kubernetes.io/name")
        ?? _name;

    private string Version => ManifestInjector.Scalar(_podMetadata, "labels", "version") ?? "v1";

    /// <summary>The app's port: the first container's first containerPort, else 8080.</summary>
    private int AppPort
    {
        get
        {
            var containers = (YamlSequenceNode)Child(_podSpec, "containers")!;
            var ports = Child(containers.Children[0], "ports") as YamlSequenceNode;
            var port = ports?.Children.Count > 0 ? ManifestInjector.Scalar(ports.Children[0], "containerPort") : null;
            return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 8080;
        }
    }

    public void Apply()
    {
        var annotations = GetOrAdd(_podMetadata!, "annotations");
        annotations.Children[new YamlScalarNode(ManifestInjector.StatusAnnotation)] = Str("injected");
        annotations.Children[new YamlScalarNode(ManifestInjector.ServiceAnnotation)] = Str(ServiceName);
        annotations.Children[new YamlScalarNode("mesh.dev/proxy-version")] = Str(_options.Image);

        var initContainers = Child(_podSpec, "initContainers") as YamlSequenceNode ?? new YamlSequenceNode();
        _podSpec!.Children[new YamlScalarNode("initContainers")] = initContainers;
        initContainers.Children.Insert(0, InitContainer());

        // The admin listener serves these only, never other app paths (docs/configuration.md, "Admin listener").
        foreach (var probe in _appProbes)
        {
            probe.HttpGet.Children[new YamlScalarNode("path")] = Str(AppHealthPath(probe.Name));
            probe.HttpGet.Children[new YamlScalarNode("port")] = Str(Port(_options.AdminPort));
            probe.HttpGet.Children.Remove(new YamlScalarNode("scheme"));
        }

        ((YamlSequenceNode)Child(_podSpec, "containers")!).Children.Add(SidecarContainer());

        var volumes = Child(_podSpec, "volumes") as YamlSequenceNode ?? new YamlSequenceNode();
        _podSpec.Children[new YamlScalarNode("volumes")] = volumes;
        volumes.Children.Add(Map(("name", Str("mesh-config")), ("configMap", Map(("name", Str(ConfigMapName))))));
        volumes.Children.Add(Map(("name", Str("mesh-certs")), ("emptyDir", Map(("medium", Str("Memory"))))));
    }

    internal static string AppHealthPath(string probeName) => Mesh.Sidecar.Configuration.AppProbeConfig.AdminPathPrefix + probeName;

    private YamlMappingNode InitContainer() => Map(
        ("name", Str("mesh-init")),
        ("image", Str(_options.Image)),
        ("args", Seq("iptables",
            "--outbound-port", Port(_options.OutboundPort),
            "--inbound-port", Port(_options.InboundPort),
            "--proxy-uid", Port(_options.ProxyUid),
            "--exclude-inbound-ports", Port(_options.AdminPort))),
        ("securityContext", Map(
            ("runAsUser", Str("0")),
            ("runAsNonRoot", Str("false")),
            ("capabilities", Map(("add", Seq("NET_ADMIN", "NET_RAW")), ("drop", Seq("ALL")))))),
        ("resources", Resources("10m", "16Mi", "100m", "32Mi")));

    private YamlMappingNode SidecarContainer() => Map(
        ("name", Str("mesh-sidecar")),
        ("image", Str(_options.Image)),
        // The native (ahead-of-time compiled) sidecar binary of the mesh image: a third of the
        // memory of `mesh sidecar` (see docs/benchmarks.md).
        ("command", Seq("mesh-sidecar")),
        ("args", Seq("--config", "/etc/mesh/sidecar.yaml")),
        ("env", new YamlSequenceNode(
            // The GC's smallest gen0 budget, 4 MiB (hex): keeps the sidecar's resident set small
            // under load at a little CPU; without it the budget follows the node's cache size.
            Map(("name", Str("DOTNET_GCgen0size")), ("value", Text("400000"))),
            Env("MESH_POD_NAME", FieldRef("metadata.name")),
            Env("MESH_POD_NAMESPACE", FieldRef("metadata.namespace")),
            Env("MESH_POD_IP", FieldRef("status.podIP")),
            Map(("name", Str(Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable)), ("valueFrom", Map(("secretKeyRef", Map(("name", Str(_options.JoinTokenSecret)), ("key", Str(_options.JoinTokenSecretKey))))))))),
        ("ports", new YamlSequenceNode(
            ContainerPort("mesh-outbound", _options.OutboundPort),
            ContainerPort("mesh-inbound", _options.InboundPort),
            ContainerPort("mesh-admin", _options.AdminPort))),
        ("readinessProbe", Probe("/readyz")),
        ("livenessProbe", Probe("/healthz")),
        ("resources", Resources("50m", "32Mi", "1", "128Mi")),
        ("securityContext", Map(
            ("runAsUser", Str(Port(_options.ProxyUid))),
            ("runAsNonRoot", Str("true")),
            ("readOnlyRootFilesystem", Str("true")),
            ("allowPrivilegeEscalation", Str("false")))),
        ("volumeMounts", new YamlSequenceNode(
            Map(("name", Str("mesh-config")), ("mountPath", Str("/etc/mesh")), ("readOnly", Str("true"))),
            Map(("name", Str("mesh-certs")), ("mountPath", Str("/var/run/mesh"))))));

    /// <summary>
    /// The sidecar's bootstrap configuration, in a ConfigMap next to the workload: the service in
    /// the workload's namespace (its SPIFFE id's), strict mTLS with the join token the sidecar
    /// container gets from the join-token Secret as <c>$MESH_JOIN_TOKEN</c>.
    /// </summary>
    public YamlMappingNode BuildConfigMap()
    {
        var config = string.Join('\n',
            "service:",
            $"  name: {ServiceName}",
            $"  version: {Version}",
            $"  namespace: {_namespace}",
            "app:",
            $"  address: http://127.0.0.1:{AppPort}",
            "registry:",
            "  addresses:",
            $"    - {_options.Registry}",
            "listeners:",
            $"  outbound: 127.0.0.1:{_options.OutboundPort}",
            $"  inbound: 0.0.0.0:{_options.InboundPort}",
            $"  admin: 0.0.0.0:{_options.AdminPort}",
            "tls:",
            $"  mode: strict   # join token: ${Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable}, from Secret {_options.JoinTokenSecret}",
            AppProbesSection());
        return Map(
            ("apiVersion", Str("v1")),
            ("kind", Str("ConfigMap")),
            ("metadata", Map(("name", Str(ConfigMapName)), ("namespace", Str(_namespace)),
                ("labels", Map(("app.kubernetes.io/managed-by", Str("mesh-inject")))))),
            ("data", Map(("sidecar.yaml", new YamlScalarNode(config) { Style = YamlDotNet.Core.ScalarStyle.Literal }))));
    }

    /// <summary>`appProbes:` with each rewritten probe's original target; empty (just the final newline) when none.</summary>
    private string AppProbesSection()
    {
        if (_appProbes.Count == 0)
            return "";
        var lines = new List<string> { $"appProbes:   # the app's own probes; the kubelet asks the admin port's /app-health/<name>" };
        foreach (var probe in _appProbes)
            lines.Add($"  {probe.Name}: {{ port: {Port(probe.Port)}, path: {YamlString(probe.Path)}, scheme: {probe.Scheme}, timeout: {Port(probe.TimeoutSeconds)}s }}");
        lines.Add("");
        return string.Join('\n', lines);
    }

    /// <summary>A path as a YAML flow scalar: plain when safe, else double-quoted.</summary>
    private static string YamlString(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '~' or '-' or '%' or '=' or '&' or '?')
            ? value
            : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private YamlMappingNode Probe(string path) => Map(
        ("httpGet", Map(("path", Str(path)), ("port", Str(Port(_options.AdminPort))))),
        ("periodSeconds", Str("5")),
        ("failureThreshold", Str("3")));

    private static YamlMappingNode Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => Map(
        ("requests", Map(("cpu", Str(cpuRequest)), ("memory", Str(memoryRequest)))),
        ("limits", Map(("cpu", Str(cpuLimit)), ("memory", Str(memoryLimit)))));

    private static YamlMappingNode ContainerPort(string name, int port) =>
        Map(("name", Str(name)), ("containerPort", Str(Port(port))), ("protocol", Str("TCP")));

    private static YamlMappingNode Env(string name, YamlNode valueFrom) => Map(("name", Str(name)), ("valueFrom", valueFrom));

    private static YamlMappingNode FieldRef(string path) => Map(("fieldRef", Map(("fieldPath", Str(path)))));

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static YamlMappingNode GetOrAdd(YamlMappingNode parent, string key)
    {
        if (Child(parent, key) is YamlMappingNode existing)
            return existing;
        var created = new YamlMappingNode();
        parent.Children[new YamlScalarNode(key)] = created;
        return created;
    }

    private static YamlScalarNode Str(string value) => new(value);

    /// <summary>A list of strings (see <see cref="Text"/>).</summary>
    private static YamlSequenceNode Seq(params string[] values) => new(values.Select(v => (YamlNode)Text(v)));

    /// <summary>A string where Kubernetes wants one (args, env values): numbers are quoted so they stay strings.</summary>
    private static YamlScalarNode Text(string value) => new(value)
    {
        Style = value.Length > 0 && value.All(char.IsAsciiDigit) ? YamlDotNet.Core.ScalarStyle.DoubleQuoted : YamlDotNet.Core.ScalarStyle.Any,
    };

    private static YamlMappingNode Map(params (string Key, YamlNode Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
            map.Children.Add(new YamlScalarNode(key), value);
        return map;
    }
}
