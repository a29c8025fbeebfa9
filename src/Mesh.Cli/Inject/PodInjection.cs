using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

/// <summary>
/// Names a pod template in problems (<c>m.yaml:5: Deployment 'web'</c>, or <c>pod 'web-1'</c> when
/// there is no file) and gives what the template alone does not say: the path of its spec in the
/// document, its namespace, and the name to fall back to for the service.
/// </summary>
internal sealed record PodSite(string? Source, int Line, string Subject, string SpecPath, string Namespace, string FallbackName)
{
    public string Where => Source is null ? Subject : $"{Source}:{Line}: {Subject}";

    public string At(YamlNode node) => Source is null ? Subject : $"{Source}:{node.Start.Line}: {Subject}";
}

internal enum PodInjectionStatus
{
    Injected,
    AlreadyInjected,
    Refused,
}

internal sealed record PodInjectionResult(PodInjectionStatus Status, IReadOnlyList<string> Problems);

/// <summary>
/// The one transformation of a pod template (its <c>metadata</c> and <c>spec</c>) that both
/// <c>mesh inject</c> and the <c>mesh injector</c> webhook apply: checks it has what injection
/// needs (reporting each missing piece with its place), then adds the interception init
/// container, the sidecar (as a native sidecar or a classic container, see
/// <see cref="SidecarLayout"/>), its configuration as an annotation the pod reads back through the
/// downward API (so the pod needs no other object, which a webhook could not create), and points
/// the app containers' own <c>httpGet</c> probes at the sidecar's admin port (see
/// <see cref="AppProbe"/>). Deterministic and without I/O: the same template and options give the
/// same result.
/// </summary>
internal sealed partial class PodInjection
{
    public const string StatusAnnotation = "mesh.dev/inject-status";
    public const string ServiceAnnotation = "mesh.dev/service";
    /// <summary>The sidecar's <c>sidecar.yaml</c>, mounted at <c>/etc/mesh/sidecar.yaml</c> by a downwardAPI volume.</summary>
    public const string ConfigAnnotation = "mesh.dev/sidecar-config";
    public const string ProxyVersionAnnotation = "mesh.dev/proxy-version";
    public const string SidecarName = "mesh-sidecar";
    public const string InitName = "mesh-init";

    private readonly YamlMappingNode _template;
    private readonly PodSite _site;
    private readonly InjectOptions _options;
    private readonly YamlMappingNode _podSpec = null!;
    private readonly YamlMappingNode? _podMetadata;
    private readonly List<AppProbe> _appProbes = [];
    private readonly bool _alreadyInjected;
    private readonly SidecarLayout _layout;

    private PodInjection(YamlMappingNode template, PodSite site, InjectOptions options, List<string> problems)
    {
        _template = template;
        _site = site;
        _options = options;
        if (Child(template, "spec") is not YamlMappingNode spec)
        {
            problems.Add($"{site.Where}: {site.SpecPath} is missing");
            return;
        }
        _podSpec = spec;

        if (Child(spec, "containers") is not YamlSequenceNode { Children.Count: > 0 } containers)
        {
            problems.Add($"{site.Where}: {site.SpecPath}.containers must list at least one container");
            return;
        }

        foreach (var (container, i) in containers.Children.Select((c, i) => (c, i)))
        {
            if (container is not YamlMappingNode)
                problems.Add($"{site.Where}: {site.SpecPath}.containers[{i}] must be a mapping");
        }

        _podMetadata = Child(template, "metadata") as YamlMappingNode;
        _alreadyInjected = ManifestInjector.Scalar(_podMetadata, "annotations", StatusAnnotation) == "injected"
            || HasContainerNamed(containers, SidecarName)
            || (Child(spec, "initContainers") is YamlSequenceNode inits && HasContainerNamed(inits, SidecarName));
        if (_alreadyInjected)
            return;

        _layout = options.Layout;
        if (ManifestInjector.Scalar(_podMetadata, "annotations", SidecarLayouts.Annotation) is { } layoutText
            && !SidecarLayouts.TryParse(layoutText, out _layout))
            problems.Add($"{site.Where}: annotation {SidecarLayouts.Annotation}: '{layoutText}' is neither native nor classic");
        FindAppProbes(containers, problems);
    }

    /// <summary>
    /// Injects into <paramref name="template"/> in place, unless it is already injected or has
    /// problems (then it is left as it was and the problems are returned, each with its place).
    /// </summary>
    public static PodInjectionResult Inject(YamlMappingNode template, PodSite site, InjectOptions options)
    {
        var problems = new List<string>();
        var injection = new PodInjection(template, site, options, problems);
        if (problems.Count > 0)
            return new PodInjectionResult(PodInjectionStatus.Refused, problems);
        if (injection._alreadyInjected)
            return new PodInjectionResult(PodInjectionStatus.AlreadyInjected, []);
        injection.Apply();
        return new PodInjectionResult(PodInjectionStatus.Injected, []);
    }

    private static bool HasContainerNamed(YamlSequenceNode containers, string name) =>
        containers.Children.Any(c => ManifestInjector.Scalar(c, "name") == name);

    /// <summary>The service name: the annotation if set, else the pod's <c>app</c> label, else the workload's name.</summary>
    private string ServiceName =>
        ManifestInjector.Scalar(_podMetadata, "annotations", ServiceAnnotation)
        ?? ManifestInjector.Scalar(_podMetadata, "labels", "app")
        ?? ManifestInjector.Scalar(_podMetadata, "labels", "app.kubernetes.io/name")
        ?? _site.FallbackName;

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

    private void Apply()
    {
        var annotations = GetOrAdd(GetOrAdd(_template, "metadata"), "annotations");
        annotations.Children[new YamlScalarNode(StatusAnnotation)] = Text("injected");
        annotations.Children[new YamlScalarNode(ServiceAnnotation)] = Text(ServiceName);
        annotations.Children[new YamlScalarNode(ProxyVersionAnnotation)] = Text(_options.Image);
        annotations.Children[new YamlScalarNode(ConfigAnnotation)] = new YamlScalarNode(SidecarConfig()) { Style = YamlDotNet.Core.ScalarStyle.Literal };

        var initContainers = Child(_podSpec, "initContainers") as YamlSequenceNode ?? new YamlSequenceNode();
        _podSpec.Children[new YamlScalarNode("initContainers")] = initContainers;
        initContainers.Children.Insert(0, InitContainer());

        // The admin listener serves these only, never other app paths (docs/configuration.md, "Admin listener").
        foreach (var probe in _appProbes)
        {
            probe.HttpGet.Children[new YamlScalarNode("path")] = Str(AppHealthPath(probe.Name));
            probe.HttpGet.Children[new YamlScalarNode("port")] = Str(Port(_options.AdminPort));
            probe.HttpGet.Children.Remove(new YamlScalarNode("scheme"));
        }

        // A native sidecar starts right after the interception rules are in place and before any
        // other init container, so the pod's own init steps already have the mesh.
        if (_layout == SidecarLayout.Native)
            initContainers.Children.Insert(1, SidecarContainer(native: true));
        else
            ((YamlSequenceNode)Child(_podSpec, "containers")!).Children.Add(SidecarContainer(native: false));

        var volumes = Child(_podSpec, "volumes") as YamlSequenceNode ?? new YamlSequenceNode();
        _podSpec.Children[new YamlScalarNode("volumes")] = volumes;
        volumes.Children.Add(Map(("name", Str("mesh-config")), ("downwardAPI", Map(("items", new YamlSequenceNode(
            Map(("path", Str("sidecar.yaml")), ("fieldRef", Map(("fieldPath", Text($"metadata.annotations['{ConfigAnnotation}']")))))))))));
        volumes.Children.Add(Map(("name", Str("mesh-certs")), ("emptyDir", Map(("medium", Str("Memory"))))));
    }

    internal static string AppHealthPath(string probeName) => Mesh.Sidecar.Configuration.AppProbeConfig.AdminPathPrefix + probeName;

    /// <summary>
    /// The sidecar's bootstrap configuration: the service in the pod's namespace (its SPIFFE id's),
    /// strict mTLS with the join token the sidecar container gets from the join-token Secret as
    /// <c>$MESH_JOIN_TOKEN</c>, and the app's original probe targets.
    /// </summary>
    private string SidecarConfig() => string.Join('\n',
        "service:",
        $"  name: {ServiceName}",
        $"  version: {Version}",
        $"  namespace: {_site.Namespace}",
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
}
