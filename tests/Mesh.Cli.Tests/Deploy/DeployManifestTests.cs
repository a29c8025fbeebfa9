using Mesh.Cli.Inject;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Deploy;

/// <summary>
/// No Kubernetes runs here, so the manifests in deploy/ are checked by reading them: what a
/// cluster would reject or run badly is caught before anyone applies them.
/// </summary>
public sealed class DeployManifestTests
{
    private static readonly string K8sDir = Path.Combine(RepoRoot.Path, "deploy", "k8s");

    public static TheoryData<string> ManifestFiles() =>
        [.. Directory.GetFiles(K8sDir, "*.yaml").Select(f => Path.GetFileName(f)).Order()];

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void EveryContainer_HasProbesAndResources(string file)
    {
        foreach (var (workload, pod) in Workloads(file))
        {
            foreach (var container in Sequence(pod, "spec", "containers"))
            {
                var name = $"{file}: {workload} container {Scalar(container, "name")}";
                Assert.True(Child(container, "readinessProbe") is YamlMappingNode, $"{name} has no readinessProbe");
                Assert.True(Child(container, "livenessProbe") is YamlMappingNode, $"{name} has no livenessProbe");
                Assert.True(Child(Child(container, "resources"), "requests") is YamlMappingNode, $"{name} has no resource requests");
                Assert.True(Child(Child(container, "resources"), "limits") is YamlMappingNode, $"{name} has no resource limits");
            }

            foreach (var init in Sequence(pod, "spec", "initContainers"))
                Assert.True(Child(init, "resources") is YamlMappingNode, $"{file}: {workload} init container has no resources");
        }
    }

    [Fact]
    public void InjectedSidecars_UseTheSidecarDefaultPorts()
    {
        // Against the sidecar's own defaults, not the injector's copy of them.
        var listeners = new Mesh.Sidecar.Configuration.ListenersConfig();
        var defaults = new { OutboundPort = listeners.Outbound.Port, InboundPort = listeners.Inbound.Port, AdminPort = listeners.Admin.Port };
        foreach (var (_, pod) in Workloads("shop-injected.yaml"))
        {
            var sidecar = Sequence(pod, "spec", "containers").Single(c => Scalar(c, "name") == "mesh-sidecar");
            var ports = Sequence(sidecar, "ports").ToDictionary(p => Scalar(p, "name")!, p => int.Parse(Scalar(p, "containerPort")!));
            Assert.Equal(defaults.OutboundPort, ports["mesh-outbound"]);
            Assert.Equal(defaults.InboundPort, ports["mesh-inbound"]);
            Assert.Equal(defaults.AdminPort, ports["mesh-admin"]);
            Assert.Equal(defaults.AdminPort.ToString(), Scalar(Child(Child(sidecar, "readinessProbe"), "httpGet"), "port"));
        }
    }

    [Fact]
    public void Registry_IsAThreeNodeStatefulSetWithVolumesBudgetAndHeadlessService()
    {
        var documents = Load("registry.yaml");
        var statefulSet = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        Assert.Equal("3", Scalar(Child(statefulSet, "spec"), "replicas"));
        Assert.NotEmpty(Sequence(statefulSet, "spec", "volumeClaimTemplates"));
        var container = Sequence(Child(Child(statefulSet, "spec"), "template"), "spec", "containers").Single();
        Assert.Equal("/readyz", Scalar(Child(Child(container, "readinessProbe"), "httpGet"), "path"));
        Assert.Equal("/healthz", Scalar(Child(Child(container, "livenessProbe"), "httpGet"), "path"));

        var headless = documents.Single(d => Scalar(d, "kind") == "Service" && Scalar(Child(d, "spec"), "clusterIP") == "None");
        Assert.Equal(Scalar(Child(statefulSet, "spec"), "serviceName"), Scalar(Child(headless, "metadata"), "name"));

        var budget = documents.Single(d => Scalar(d, "kind") == "PodDisruptionBudget");
        Assert.Equal("2", Scalar(Child(budget, "spec"), "minAvailable"));
    }

    private static List<YamlMappingNode> Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(K8sDir, file))));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    private static IEnumerable<(string Name, YamlNode Pod)> Workloads(string file) =>
        Load(file)
            .Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet" or "DaemonSet")
            .Select(d => ($"{Scalar(d, "kind")} {Scalar(Child(d, "metadata"), "name")}", Child(Child(d, "spec"), "template")!));

    private static IEnumerable<YamlNode> Sequence(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
            node = Child(node, key);
        return node is YamlSequenceNode sequence ? sequence.Children : [];
    }

    private static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlNode? node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}
