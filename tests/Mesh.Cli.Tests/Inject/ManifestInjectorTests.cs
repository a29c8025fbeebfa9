using Mesh.Cli.Inject;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Inject;

public sealed class ManifestInjectorTests
{
    private static readonly string SamplePath = Path.Combine(RepoRoot.Path, "deploy", "k8s", "shop.yaml");
    private readonly ManifestInjector _injector = new(new InjectOptions());

    [Fact]
    public void Inject_EveryDeployment_GetsSidecarInitContainerAndAnnotations()
    {
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        var deployments = Documents(output).Where(d => Scalar(d, "kind") == "Deployment").ToList();
        Assert.Equal(4, deployments.Count);
        foreach (var deployment in deployments)
        {
            var pod = (YamlMappingNode)deployment["spec"]["template"];
            Assert.Equal("injected", Scalar(pod["metadata"]["annotations"], ManifestInjector.StatusAnnotation));
            var initContainers = ((YamlSequenceNode)pod["spec"]["initContainers"]).Children.Cast<YamlMappingNode>().ToList();
            var sidecar = Assert.Single(initContainers, c => Scalar(c, "name") == "mesh-sidecar");
            Assert.Equal("/readyz", Scalar(sidecar["readinessProbe"]["httpGet"], "path"));
            Assert.Equal("/healthz", Scalar(sidecar["livenessProbe"]["httpGet"], "path"));
            Assert.Equal("15000", Scalar(sidecar["readinessProbe"]["httpGet"], "port"));
            Assert.NotNull(Scalar(sidecar["resources"]["limits"], "memory"));
            var ports = ((YamlSequenceNode)sidecar["ports"]).Children.Select(p => Scalar(p, "containerPort")).ToList();
            Assert.Equal(["15001", "15006", "15000"], ports);
            // The interception step first, then the (native) sidecar.
            Assert.Equal(["mesh-init", "mesh-sidecar"], initContainers.Select(c => Scalar(c, "name")));
        }
    }

    [Fact]
    public void Inject_EveryDeployment_GetsItsSidecarConfigInAPodAnnotationWithItsServiceName()
    {
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        // No other object: the pod reads the annotation back through a downwardAPI volume, so a webhook can inject it too.
        Assert.DoesNotContain(Documents(output), d => Scalar(d, "kind") == "ConfigMap");
        var deployments = Documents(output).Where(d => Scalar(d, "kind") == "Deployment").ToList();
        Assert.Equal(["frontend", "catalog-v1", "catalog-v2", "inventory"], deployments.Select(d => Scalar(d["metadata"], "name")));
        var catalogV2 = SidecarYaml(deployments[2]);
        Assert.Contains("name: catalog", catalogV2);
        Assert.Contains("version: v2", catalogV2);
    }

    [Fact]
    public void Inject_TheSidecarConfig_IsOneTheSidecarAccepts()
    {
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        foreach (var deployment in Documents(output).Where(d => Scalar(d, "kind") == "Deployment"))
        {
            // The sidecar container would refuse to start on anything the loader rejects.
            var config = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse(SidecarYaml(deployment));
            Assert.Equal(15001, config.Listeners.Outbound.Port);
            Assert.Equal(15006, config.Listeners.Inbound.Port);
            Assert.Equal(15000, config.Listeners.Admin.Port);
            Assert.NotEmpty(config.Registry.Addresses);
            // mTLS in the workload's namespace, the join token from the Secret through the environment, never in the ConfigMap.
            Assert.Equal(Mesh.Sidecar.Configuration.TlsMode.Strict, config.Tls.Mode);
            Assert.Equal("shop", config.Service.Namespace);
            Assert.Null(config.Tls.JoinToken);
            Assert.Null(config.Tls.JoinTokenFile);
        }
    }

    [Fact]
    public void Inject_TheSidecarContainer_GetsTheJoinTokenFromTheSecretAsTheVariableTheSidecarReads()
    {
        var options = new InjectOptions();
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        foreach (var deployment in Documents(output).Where(d => Scalar(d, "kind") == "Deployment"))
        {
            var containers = ((YamlSequenceNode)deployment["spec"]["template"]["spec"]["initContainers"]).Children.Cast<YamlMappingNode>();
            var sidecar = containers.Single(c => Scalar(c, "name") == "mesh-sidecar");
            var env = ((YamlSequenceNode)sidecar["env"]).Children.Cast<YamlMappingNode>()
                .Single(e => Scalar(e, "name") == Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable);
            Assert.Equal(options.JoinTokenSecret, Scalar(env["valueFrom"]["secretKeyRef"], "name"));
            Assert.Equal(options.JoinTokenSecretKey, Scalar(env["valueFrom"]["secretKeyRef"], "key"));
        }
    }

    [Fact]
    public void Inject_OtherDocuments_AreCopiedUnchanged()
    {
        var input = File.ReadAllText(SamplePath);

        var output = _injector.Inject(input, SamplePath);

        Assert.Contains("kind: Service\nmetadata:\n  name: frontend\n  namespace: shop\nspec:\n  selector: { app: frontend }\n  ports: [{ port: 80, targetPort: 8080 }]\n", output);
        Assert.StartsWith("# The Shop sample", output);
    }

    [Fact]
    public void Inject_Twice_ChangesNothingTheSecondTime()
    {
        var once = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        var twice = _injector.Inject(once, SamplePath);

        Assert.Equal(once, twice);
    }

    [Fact]
    public void CommittedInjectedSample_IsWhatInjectWritesToday()
    {
        var expected = File.ReadAllText(Path.Combine(RepoRoot.Path, "deploy", "k8s", "shop-injected.yaml"));

        Assert.Equal(expected, _injector.Inject(File.ReadAllText(SamplePath), SamplePath));
    }

    [Fact]
    public void Inject_NumericArguments_AreQuotedAsStrings()
    {
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        Assert.Contains("- \"15001\"", output);
    }

    [Fact]
    public void Inject_InvalidYaml_IsRefusedWithItsLine()
    {
        var ex = Assert.Throws<ManifestException>(() => _injector.Inject("kind: Deployment\nmetadata: {name: x}\n---\na: [\n", "bad.yaml"));

        Assert.Contains("bad.yaml:5", ex.Message);
        Assert.Contains("invalid YAML", ex.Message);
    }

    [Fact]
    public void Inject_DeploymentsWithoutPodSpec_AreAllReported()
    {
        const string input = "kind: Deployment\nmetadata: {name: a}\nspec: {}\n---\nkind: StatefulSet\nmetadata: {name: b}\nspec:\n  template:\n    spec:\n      containers: []\n";

        var ex = Assert.Throws<ManifestException>(() => _injector.Inject(input, "m.yaml"));

        Assert.Equal(2, ex.Problems.Count);
        Assert.Contains("Deployment 'a': spec.template.spec is missing", ex.Problems[0]);
        Assert.Contains("StatefulSet 'b': spec.template.spec.containers must list at least one container", ex.Problems[1]);
    }

    [Fact]
    public void Inject_TheSidecarConfigVolume_MountsThePodsConfigAnnotationAsTheFileTheSidecarReads()
    {
        var output = _injector.Inject(File.ReadAllText(SamplePath), SamplePath);

        foreach (var deployment in Documents(output).Where(d => Scalar(d, "kind") == "Deployment"))
        {
            var spec = deployment["spec"]["template"]["spec"];
            var volume = ((YamlSequenceNode)spec["volumes"]).Children.Cast<YamlMappingNode>().Single(v => Scalar(v, "name") == "mesh-config");
            var item = (YamlMappingNode)((YamlSequenceNode)volume["downwardAPI"]["items"]).Children.Single();
            Assert.Equal($"metadata.annotations['{PodInjection.ConfigAnnotation}']", Scalar(item["fieldRef"], "fieldPath"));
            var sidecar = ((YamlSequenceNode)spec["initContainers"]).Children.Cast<YamlMappingNode>().Single(c => Scalar(c, "name") == "mesh-sidecar");
            var mount = ((YamlSequenceNode)sidecar["volumeMounts"]).Children.Cast<YamlMappingNode>().Single(m => Scalar(m, "name") == "mesh-config");
            var args = ((YamlSequenceNode)sidecar["args"]).Children.Select(a => ((YamlScalarNode)a).Value).ToList();
            Assert.Equal(args[args.IndexOf("--config") + 1], $"{Scalar(mount, "mountPath")}/{Scalar(item, "path")}");
        }
    }

    private static string SidecarYaml(YamlMappingNode workload) => Scalar(workload["spec"]["template"]["metadata"]["annotations"], PodInjection.ConfigAnnotation)!;

    private static IEnumerable<YamlMappingNode> Documents(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static string? Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;
}
