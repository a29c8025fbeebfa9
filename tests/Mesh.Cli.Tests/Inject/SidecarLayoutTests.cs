using Mesh.Cli.Inject;
using Mesh.Cli.Tests.Injector;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Inject;

/// <summary>
/// Native sidecars (an init container with restartPolicy: Always and a startup probe, Kubernetes
/// 1.29+) by default; the classic layout by option or by the pod's annotation.
/// </summary>
public sealed class SidecarLayoutTests
{
    private static readonly string Deployment = WorkloadFixtures.Workloads["Deployment"];

    [Fact]
    public void Inject_ByDefault_TheSidecarIsANativeSidecarAfterTheInterceptionStepAndBeforeTheAppsInitContainers()
    {
        var pod = Pod(new ManifestInjector(new InjectOptions()).Inject(Deployment, "m.yaml"));

        var inits = Names(pod, "initContainers");
        Assert.Equal([PodInjection.InitName, PodInjection.SidecarName, "migrate"], inits);
        Assert.Equal(["web"], Names(pod, "containers"));
        var sidecar = Container(pod, "initContainers", PodInjection.SidecarName);
        Assert.Equal("Always", Scalar(sidecar, "restartPolicy"));
        // The kubelet starts the app containers only once this probe has passed.
        Assert.Equal("/readyz", Scalar(sidecar["startupProbe"]["httpGet"], "path"));
        Assert.Equal(new InjectOptions().AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(sidecar["startupProbe"]["httpGet"], "port"));
        Assert.Equal("/readyz", Scalar(sidecar["readinessProbe"]["httpGet"], "path"));
        Assert.Equal("/healthz", Scalar(sidecar["livenessProbe"]["httpGet"], "path"));
    }

    [Fact]
    public void Inject_ClassicLayout_TheSidecarIsAContainerBesideTheApps_WithoutRestartPolicyOrStartupProbe()
    {
        var pod = Pod(new ManifestInjector(new InjectOptions { Layout = SidecarLayout.Classic }).Inject(Deployment, "m.yaml"));

        Assert.Equal([PodInjection.InitName, "migrate"], Names(pod, "initContainers"));
        Assert.Equal(["web", PodInjection.SidecarName], Names(pod, "containers"));
        var sidecar = Container(pod, "containers", PodInjection.SidecarName);
        Assert.False(sidecar.Children.ContainsKey(new YamlScalarNode("restartPolicy")));
        Assert.False(sidecar.Children.ContainsKey(new YamlScalarNode("startupProbe")));
    }

    [Theory]
    [InlineData("native", "classic", "containers")]
    [InlineData("classic", "native", "initContainers")]
    public void Inject_ThePodsLayoutAnnotation_OverridesTheOption(string optionName, string annotation, string where)
    {
        SidecarLayouts.TryParse(optionName, out var option);
        var manifest = Deployment.Replace("    metadata:\n", $"    metadata:\n      annotations: {{ {SidecarLayouts.Annotation}: {annotation} }}\n", StringComparison.Ordinal);

        var pod = Pod(new ManifestInjector(new InjectOptions { Layout = option }).Inject(manifest, "m.yaml"));

        Assert.Contains(PodInjection.SidecarName, Names(pod, where));
    }

    [Fact]
    public void Inject_AnUnknownLayoutAnnotation_IsRefusedWithItsPlace()
    {
        var manifest = Deployment.Replace("    metadata:\n", $"    metadata:\n      annotations: {{ {SidecarLayouts.Annotation}: sideways }}\n", StringComparison.Ordinal);

        var ex = Assert.Throws<ManifestException>(() => new ManifestInjector(new InjectOptions()).Inject(manifest, "m.yaml"));

        Assert.Equal($"m.yaml:1: Deployment 'web': annotation {SidecarLayouts.Annotation}: 'sideways' is neither native nor classic", Assert.Single(ex.Problems));
    }

    [Theory]
    [InlineData("Job")]
    [InlineData("CronJob")]
    [InlineData("StatefulSet")]
    [InlineData("DaemonSet")]
    public void Inject_EveryWorkloadKind_IsInjected_AndTwiceChangesNothing(string kind)
    {
        var injector = new ManifestInjector(new InjectOptions());

        var once = injector.Inject(WorkloadFixtures.Workloads[kind], "m.yaml");

        Assert.Contains(PodInjection.SidecarName, Names(Pod(once), "initContainers"));
        Assert.Equal(once, injector.Inject(once, "m.yaml"));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("classic")]
    public void Inject_ABarePod_IsInjected(string layoutName)
    {
        SidecarLayouts.TryParse(layoutName, out var layout);
        const string pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: debug, namespace: shop }\nspec:\n  containers:\n    - name: debug\n      image: debug:1\n";

        var output = new ManifestInjector(new InjectOptions { Layout = layout }).Inject(pod, "m.yaml");

        var root = Root(output);
        Assert.Contains(PodInjection.SidecarName, Names(root, layout == SidecarLayout.Native ? "initContainers" : "containers"));
        Assert.Contains("name: debug", Scalar(root["metadata"]["annotations"], PodInjection.ConfigAnnotation));
    }

    private static YamlMappingNode Root(string output)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(output));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Pod(string output)
    {
        var root = Root(output);
        return (YamlMappingNode)(ManifestInjector.Kind(root) == "CronJob" ? root["spec"]["jobTemplate"]["spec"]["template"] : root["spec"]["template"]);
    }

    private static List<string> Names(YamlMappingNode pod, string field) =>
        pod["spec"] is YamlMappingNode spec && spec.Children.TryGetValue(new YamlScalarNode(field), out var list)
            ? [.. ((YamlSequenceNode)list).Children.Select(c => Scalar(c, "name")!)]
            : [];

    private static YamlMappingNode Container(YamlMappingNode pod, string field, string name) =>
        ((YamlSequenceNode)pod["spec"][field]).Children.Cast<YamlMappingNode>().Single(c => Scalar(c, "name") == name);

    private static string? Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;
}
