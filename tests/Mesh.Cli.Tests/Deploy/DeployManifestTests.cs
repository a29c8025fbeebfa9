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

    private static readonly string[] ManifestFileNames = [.. Directory.GetFiles(K8sDir, "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> ManifestFiles() => [.. ManifestFileNames];

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
            var sidecar = Sequence(pod, "spec", "initContainers").Single(c => Scalar(c, "name") == "mesh-sidecar");
            var ports = Sequence(sidecar, "ports").ToDictionary(p => Scalar(p, "name")!, p => int.Parse(Scalar(p, "containerPort")!));
            Assert.Equal(defaults.OutboundPort, ports["mesh-outbound"]);
            Assert.Equal(defaults.InboundPort, ports["mesh-inbound"]);
            Assert.Equal(defaults.AdminPort, ports["mesh-admin"]);
            Assert.Equal(defaults.AdminPort.ToString(), Scalar(Child(Child(sidecar, "readinessProbe"), "httpGet"), "port"));
        }
    }

    [Fact]
    public void InjectedAppProbes_GoToTheSidecarAdminPort_ForANameInThatPodsSidecarAppProbes()
    {
        // Strict mTLS refuses the kubelet's plaintext on redirected app ports; the admin port is not redirected.
        var adminPort = new Mesh.Sidecar.Configuration.ListenersConfig().Admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var documents = Load("shop-injected.yaml");
        var checkedProbes = 0;
        foreach (var workload in documents.Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet" or "DaemonSet"))
        {
            var pod = Child(Child(workload, "spec"), "template");
            var where = $"shop-injected.yaml: {Scalar(workload, "kind")} {Scalar(workload, "metadata", "name")}";
            var sidecarConfig = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse(Scalar(Child(pod, "metadata"), "annotations", PodInjection.ConfigAnnotation)!);

            foreach (var container in Sequence(pod, "spec", "containers").Where(c => Scalar(c, "name") != "mesh-sidecar"))
            {
                var containerPorts = Sequence(container, "ports").Select(p => int.Parse(Scalar(p, "containerPort")!)).ToList();
                foreach (var field in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
                {
                    if (Child(Child(container, field), "httpGet") is not YamlMappingNode httpGet)
                        continue;
                    var name = $"{where} container {Scalar(container, "name")} {field}";
                    Assert.True(Scalar(httpGet, "port") == adminPort, $"{name} probes port {Scalar(httpGet, "port")}, not the sidecar admin port {adminPort}");
                    var path = Scalar(httpGet, "path")!;
                    Assert.StartsWith(Mesh.Sidecar.Configuration.AppProbeConfig.AdminPathPrefix, path, StringComparison.Ordinal);
                    var probe = path[Mesh.Sidecar.Configuration.AppProbeConfig.AdminPathPrefix.Length..];
                    Assert.True(sidecarConfig.AppProbes.TryGetValue(probe, out var target), $"{name}: {probe} is not in the appProbes of its sidecar config");
                    Assert.True(containerPorts.Contains(target.Port), $"{name}: appProbes.{probe} calls port {target.Port}, no port of the container");
                    checkedProbes++;
                }
            }
        }

        Assert.True(checkedProbes > 0, "shop-injected.yaml has no app httpGet probes to check");
    }

    [Fact]
    public void InjectedSidecars_RunTheNativeSidecarOfTheMeshImage_WithArgumentsItAccepts()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoRoot.Path, "deploy", "docker", "mesh.Dockerfile"));
        foreach (var (name, pod) in Workloads("shop-injected.yaml"))
        {
            var sidecar = Sequence(pod, "spec", "initContainers").Single(c => Scalar(c, "name") == "mesh-sidecar");
            var command = Sequence(sidecar, "command").Select(c => ((YamlScalarNode)c).Value!).ToArray();
            Assert.Equal(["mesh-sidecar"], command);
            Assert.Contains($"/usr/local/bin/{command[0]}", dockerfile, StringComparison.Ordinal);

            // The native binary's whole command line is the sidecar command's options.
            var args = Sequence(sidecar, "args").Select(a => ((YamlScalarNode)a).Value!).ToArray();
            var parsed = Mesh.Cli.Commands.SidecarCommand.Configure(new System.CommandLine.RootCommand()).Parse(args);
            Assert.True(parsed.Errors.Count == 0, $"{name}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");

            // An env value must be a YAML string: quoted, since it is all digits.
            var gen0 = (YamlScalarNode)Child(Sequence(sidecar, "env").Single(e => Scalar(e, "name") == "DOTNET_GCgen0size"), "value")!;
            Assert.Equal("400000", gen0.Value);
            Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, gen0.Style);
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

    [Fact]
    public void Registry_ServesZooKeeperOn2181_ThroughItsClientService()
    {
        var documents = Load("registry.yaml");
        var statefulSet = documents.Single(d => Scalar(d, "kind") == "StatefulSet");
        var container = Sequence(Child(Child(statefulSet, "spec"), "template"), "spec", "containers").Single();
        Assert.Contains("--zk 0.0.0.0:2181", ((YamlScalarNode)Sequence(container, "args").Single()).Value!);
        var service = documents.Single(d => Scalar(d, "kind") == "Service" && Scalar(d, "metadata", "name") == "mesh-registry");
        Assert.Contains(Sequence(Child(service, "spec"), "ports"), p => Scalar(p, "name") == "zookeeper" && Scalar(p, "port") == "2181");
    }

    [Fact]
    public void EverySecretKeyAPodReads_IsInSecretsYaml()
    {
        var secrets = Load("secrets.yaml").Where(d => Scalar(d, "kind") == "Secret")
            .SelectMany(d => new[] { Child(d, "stringData"), Child(d, "data") }.OfType<YamlMappingNode>()
                .SelectMany(m => m.Children.Keys.Select(k => $"{Namespace(d)}/{Scalar(d, "metadata", "name")}:{((YamlScalarNode)k).Value}")))
            .ToHashSet(StringComparer.Ordinal);
        var references = new List<(string Where, string Key)>();
        foreach (var file in ManifestFileNames)
        {
            foreach (var document in Load(file).Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet" or "DaemonSet"))
            {
                var ns = Namespace(document);
                var pod = Child(Child(document, "spec"), "template");
                var where = $"{file}: {Scalar(document, "kind")} {Scalar(document, "metadata", "name")}";
                foreach (var container in Sequence(pod, "spec", "containers").Concat(Sequence(pod, "spec", "initContainers")))
                {
                    foreach (var env in Sequence(container, "env"))
                    {
                        if (Child(Child(env, "valueFrom"), "secretKeyRef") is YamlMappingNode reference)
                            references.Add((where, $"{ns}/{Scalar(reference, "name")}:{Scalar(reference, "key")}"));
                    }
                }

                foreach (var volume in Sequence(pod, "spec", "volumes"))
                {
                    if (Child(volume, "secret") is not YamlMappingNode secret)
                        continue;
                    var items = Sequence(secret, "items").ToList();
                    Assert.True(items.Count > 0, $"{where}: secret volume {Scalar(volume, "name")} should list its items");
                    references.AddRange(items.Select(i => (where, $"{ns}/{Scalar(secret, "secretName")}:{Scalar(i, "key")}")));
                }
            }
        }

        Assert.NotEmpty(references);
        foreach (var (where, key) in references)
            Assert.True(secrets.Contains(key), $"{where} reads secret key {key}, which secrets.yaml does not have");
    }

    [Fact]
    public void Registry_ArgsAreOnesMeshRegistryAccepts_AndItsTokenFilesAreMountedFromTheSecret()
    {
        var statefulSet = Load("registry.yaml").Single(d => Scalar(d, "kind") == "StatefulSet");
        var pod = Child(Child(statefulSet, "spec"), "template");
        var container = Sequence(pod, "spec", "containers").Single();
        var script = ((YamlScalarNode)Sequence(container, "args").Single()).Value!;
        Assert.StartsWith("exec mesh registry ", script);

        // The shell computes the node id from the pod ordinal; any id will do for parsing.
        var args = script["exec mesh ".Length..].Replace("$(( ${HOSTNAME##*-} + 1 ))", "1", StringComparison.Ordinal)
            .Replace("${POD_IP}", "10.0.0.1", StringComparison.Ordinal)
            .Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var parsed = MeshCommandLine.Build().Parse(args);
        Assert.True(parsed.Errors.Count == 0, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        Assert.Equal("registry", parsed.CommandResult.Command.Name);

        // The peer list is one the node accepts (only Raft addresses: each node publishes its
        // client address, the pod IP the shell fills in from the downward API).
        var members = Mesh.Registry.Hosting.ClusterMember.ParseList(args[Array.IndexOf(args, "--peers") + 1]);
        Assert.Equal(3, members.Count);
        Assert.All(members, m => Assert.Null(m.ClientEndPoint));
        Assert.Contains(Sequence(container, "env"), e => Scalar(e, "name") == "POD_IP" && Scalar(Child(e, "valueFrom"), "fieldRef", "fieldPath") == "status.podIP");

        // Each token file is an item of a secret volume mounted where the flag points.
        var mounts = Sequence(container, "volumeMounts").ToDictionary(m => Scalar(m, "name")!, m => Scalar(m, "mountPath")!);
        var files = Sequence(pod, "spec", "volumes").Where(v => Child(v, "secret") is YamlMappingNode)
            .SelectMany(v => Sequence(Child(v, "secret"), "items").Select(i => $"{mounts[Scalar(v, "name")!]}/{Scalar(i, "path")}"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var flag in new[] { "--join-tokens-file", "--api-tokens-file", "--cluster-key-file" })
        {
            var at = Array.IndexOf(args, flag);
            Assert.True(at >= 0, $"registry.yaml does not pass {flag}");
            Assert.Contains(args[at + 1], files);
        }
    }

    [Fact]
    public void Registry_ClusterKey_ComesFromASecretInSecretsYaml_WhosePlaceholderNoNodeAccepts()
    {
        var statefulSet = Load("registry.yaml").Single(d => Scalar(d, "kind") == "StatefulSet");
        var pod = Child(Child(statefulSet, "spec"), "template");
        var volume = Sequence(pod, "spec", "volumes").Single(v => Scalar(v, "name") == "cluster-key");
        var secretName = Scalar(Child(volume, "secret"), "secretName");
        var item = Scalar(Sequence(Child(volume, "secret"), "items").Single(), "key")!;

        var secret = Load("secrets.yaml").Single(d => Scalar(d, "kind") == "Secret" && Scalar(d, "metadata", "name") == secretName);
        Assert.Equal(Namespace(statefulSet), Namespace(secret));
        var placeholder = Scalar(Child(secret, "stringData"), item);
        Assert.NotNull(placeholder);
        // Applied unchanged, the nodes refuse to start (naming the flag) rather than share a published key.
        Assert.Throws<FormatException>(() => Mesh.Registry.PeerTls.ClusterKey.Parse(placeholder));
        // The image's user (uid 1337) reads it through the pod's group.
        Assert.Equal("1337", Scalar(Child(Child(pod, "spec"), "securityContext"), "fsGroup"));
    }

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void EveryServiceTargetPort_IsAContainerPortOfThePodsItSelects(string file)
    {
        // Each file holds its Services and the workloads they select.
        var workloads = Load(file).Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet" or "DaemonSet").ToList();
        foreach (var service in Load(file).Where(d => Scalar(d, "kind") == "Service"))
        {
            var name = $"{file}: Service {Scalar(service, "metadata", "name")}";
            var selector = (YamlMappingNode)Child(Child(service, "spec"), "selector")!;
            var pods = workloads
                .Where(w => Namespace(w) == Namespace(service))
                .Select(w => Child(Child(w, "spec"), "template")!)
                .Where(p => selector.Children.All(l => Scalar(Child(p, "metadata"), "labels", ((YamlScalarNode)l.Key).Value!) == ((YamlScalarNode)l.Value).Value))
                .ToList();
            Assert.True(pods.Count > 0, $"{name} selects no pod");
            foreach (var port in Sequence(service, "spec", "ports"))
            {
                var target = Scalar(port, "targetPort") ?? Scalar(port, "port")!;
                foreach (var pod in pods)
                {
                    var containerPorts = Sequence(pod, "spec", "containers").SelectMany(c => Sequence(c, "ports"))
                        .SelectMany(p => new[] { Scalar(p, "containerPort"), Scalar(p, "name") }).OfType<string>();
                    Assert.True(containerPorts.Contains(target), $"{name}: targetPort {target} is no container port of its pods");
                }
            }
        }
    }

    private static string Namespace(YamlNode document) => Scalar(document, "metadata", "namespace") ?? "default";

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

    private static string? Scalar(YamlNode? node, string key, string child) => Scalar(Child(node, key), child);
}
