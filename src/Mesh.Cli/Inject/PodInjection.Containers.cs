using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

internal sealed partial class PodInjection
{
    /// <summary>How long a native sidecar may take to become ready (fetch its certificate, load routes) before the kubelet restarts it.</summary>
    private const int StartupFailureThreshold = 120;

    private YamlMappingNode InitContainer() => Map(
        ("name", Str(InitName)),
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

    /// <summary>
    /// The sidecar. <paramref name="native"/>: an init container that keeps running
    /// (<c>restartPolicy: Always</c>) with a startup probe on its readiness endpoint, so the
    /// kubelet starts the app containers only once it is ready, and stops it after they exit.
    /// </summary>
    private YamlMappingNode SidecarContainer(bool native)
    {
        var container = Map(
            ("name", Str(SidecarName)),
            ("image", Str(_options.Image)),
            // The native (ahead-of-time compiled) sidecar binary of the mesh image: a third of the
            // memory of `mesh sidecar` (see docs/benchmarks.md).
            ("command", Seq("mesh-sidecar")),
            ("args", Seq("--config", "/etc/mesh/sidecar.yaml")));
        if (native)
            container.Children.Add(new YamlScalarNode("restartPolicy"), Str("Always"));
        container.Children.Add(new YamlScalarNode("env"), new YamlSequenceNode(
            // The GC's smallest gen0 budget, 4 MiB (hex): keeps the sidecar's resident set small
            // under load at a little CPU; without it the budget follows the node's cache size.
            Map(("name", Str("DOTNET_GCgen0size")), ("value", Text("400000"))),
            Env("MESH_POD_NAME", FieldRef("metadata.name")),
            Env("MESH_POD_NAMESPACE", FieldRef("metadata.namespace")),
            Env("MESH_POD_IP", FieldRef("status.podIP")),
            Map(("name", Str(Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable)), ("valueFrom", Map(("secretKeyRef", Map(("name", Str(_options.JoinTokenSecret)), ("key", Str(_options.JoinTokenSecretKey)))))))));
        container.Children.Add(new YamlScalarNode("ports"), new YamlSequenceNode(
            ContainerPort("mesh-outbound", _options.OutboundPort),
            ContainerPort("mesh-inbound", _options.InboundPort),
            ContainerPort("mesh-admin", _options.AdminPort)));
        if (native)
            container.Children.Add(new YamlScalarNode("startupProbe"), Probe("/readyz", periodSeconds: 1, failureThreshold: StartupFailureThreshold));
        container.Children.Add(new YamlScalarNode("readinessProbe"), Probe("/readyz", periodSeconds: 5, failureThreshold: 3));
        container.Children.Add(new YamlScalarNode("livenessProbe"), Probe("/healthz", periodSeconds: 5, failureThreshold: 3));
        container.Children.Add(new YamlScalarNode("resources"), Resources("50m", "32Mi", "1", "128Mi"));
        container.Children.Add(new YamlScalarNode("securityContext"), Map(
            ("runAsUser", Str(Port(_options.ProxyUid))),
            ("runAsNonRoot", Str("true")),
            ("readOnlyRootFilesystem", Str("true")),
            ("allowPrivilegeEscalation", Str("false"))));
        container.Children.Add(new YamlScalarNode("volumeMounts"), new YamlSequenceNode(
            Map(("name", Str("mesh-config")), ("mountPath", Str("/etc/mesh")), ("readOnly", Str("true"))),
            Map(("name", Str("mesh-certs")), ("mountPath", Str("/var/run/mesh")))));
        return container;
    }

    private YamlMappingNode Probe(string path, int periodSeconds, int failureThreshold) => Map(
        ("httpGet", Map(("path", Str(path)), ("port", Str(Port(_options.AdminPort))))),
        ("periodSeconds", Str(Port(periodSeconds))),
        ("failureThreshold", Str(Port(failureThreshold))));

    private static YamlMappingNode Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => Map(
        ("requests", Map(("cpu", Text(cpuRequest)), ("memory", Text(memoryRequest)))),
        ("limits", Map(("cpu", Text(cpuLimit)), ("memory", Text(memoryLimit)))));

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

    /// <summary>A plain scalar: numbers and booleans stay numbers and booleans.</summary>
    private static YamlScalarNode Str(string value) => new(value);

    /// <summary>A list of strings (see <see cref="Text"/>).</summary>
    private static YamlSequenceNode Seq(params string[] values) => new(values.Select(v => (YamlNode)Text(v)));

    /// <summary>
    /// A string where Kubernetes wants one (args, env values, annotations, quantities): quoted when
    /// YAML would otherwise read it as a number, a boolean or null.
    /// </summary>
    private static YamlScalarNode Text(string value) => new(value)
    {
        Style = YamlScalars.PlainIsString(value) ? YamlDotNet.Core.ScalarStyle.Any : YamlDotNet.Core.ScalarStyle.DoubleQuoted,
    };

    private static YamlMappingNode Map(params (string Key, YamlNode Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
            map.Children.Add(new YamlScalarNode(key), value);
        return map;
    }
}
