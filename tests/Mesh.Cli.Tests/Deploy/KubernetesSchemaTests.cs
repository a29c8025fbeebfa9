using System.Diagnostics;
using k8s;
using k8s.Models;
using Mesh.Cli.Inject;
using Mesh.Cli.Tests.Injector;

namespace Mesh.Cli.Tests.Deploy;

/// <summary>
/// Every manifest in deploy/ and every injected output, read strictly into the Kubernetes API's
/// typed models (the KubernetesClient package): a field the API does not have, a value of the
/// wrong type or an unknown kind fails here rather than at <c>kubectl apply</c>. And the
/// kustomization, rendered by the real <c>kubectl kustomize</c>, which needs no cluster.
/// </summary>
public sealed class KubernetesSchemaTests
{
    private static readonly string K8sDir = Path.Combine(RepoRoot.Path, "deploy", "k8s");

    public static TheoryData<string> ManifestFiles() =>
        [.. Directory.GetFiles(K8sDir, "*.yaml").Select(f => Path.GetFileName(f)).Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void EveryManifestInDeploy_ReadsStrictlyIntoTheApisTypedModels(string file)
    {
        var objects = Validate(File.ReadAllText(Path.Combine(K8sDir, file)), file);

        Assert.NotEmpty(objects);
    }

    [Fact]
    public void TheInjectorManifest_HasItsDeploymentServiceAndWebhookConfiguration()
    {
        var objects = Validate(File.ReadAllText(Path.Combine(K8sDir, "injector.yaml")), "injector.yaml");

        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        var service = Assert.Single(objects.OfType<V1Service>());
        var webhooks = Assert.Single(objects.OfType<V1MutatingWebhookConfiguration>()).Webhooks;
        Assert.Equal(2, webhooks.Count);
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        var parsed = MeshCommandLine.Build().Parse([.. container.Args]);
        Assert.True(parsed.Errors.Count == 0, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        Assert.Equal("injector", parsed.CommandResult.Command.Name);
        var policy = container.Args[container.Args.IndexOf("--failure-policy") + 1];
        foreach (var webhook in webhooks)
        {
            Assert.Equal(policy, webhook.FailurePolicy);
            Assert.Equal(service.Metadata.Name, webhook.ClientConfig.Service.Name);
            Assert.Equal(service.Metadata.NamespaceProperty, webhook.ClientConfig.Service.NamespaceProperty);
            Assert.Contains(webhook.ClientConfig.Service.Path, new[] { Mesh.Cli.Injector.InjectorServer.NamespacePath, Mesh.Cli.Injector.InjectorServer.WorkloadPath });
            Assert.Equal(443, webhook.ClientConfig.Service.Port);
            Assert.Contains(service.Spec.Ports, p => p.Port == 443 && p.TargetPort.Value == "8443");
            Assert.NotNull(webhook.ClientConfig.CaBundle);
            Assert.Equal(["v1"], webhook.AdmissionReviewVersions);
            Assert.Equal("None", webhook.SideEffects);
            // The mesh's own namespace never goes to the webhook, or the injector could not start while it is down.
            Assert.Contains(webhook.NamespaceSelector.MatchExpressions, e => e.Key == "kubernetes.io/metadata.name" && e.OperatorProperty == "NotIn" && e.Values.Contains("mesh-system"));
        }
        Assert.Contains(webhooks, w => w.NamespaceSelector.MatchLabels?["mesh.dev/inject"] == "enabled");
        Assert.Contains(webhooks, w => w.ObjectSelector.MatchLabels?["mesh.dev/inject"] == "enabled");
    }

    public static TheoryData<string, string> KindsAndLayouts() => WorkloadFixtures.KindsAndLayouts();

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public void InjectedOutput_OfEachWorkloadKindAndLayout_ReadsStrictlyIntoTheApisTypedModels(string kind, string layoutName)
    {
        SidecarLayouts.TryParse(layoutName, out var layout);
        var output = new ManifestInjector(new InjectOptions { Layout = layout }).Inject(WorkloadFixtures.Workloads[kind], "m.yaml");

        var workload = Assert.Single(Validate(output, $"{kind} ({layoutName})"));

        Assert.Equal(kind, ((IKubernetesObject)workload).Kind);
    }

    [Fact]
    public void AManifestWithAFieldTheApiDoesNotHave_IsRefused()
    {
        var manifest = WorkloadFixtures.Workloads["Deployment"].Replace("args: [\"migrate\"]\n", "args: [\"migrate\"]\n          imagePullPolice: Always\n", StringComparison.Ordinal);

        Assert.NotEqual(WorkloadFixtures.Workloads["Deployment"], manifest);

        var e = Assert.Throws<Xunit.Sdk.XunitException>(() => Validate(manifest, "typo.yaml"));

        Assert.Contains("imagePullPolice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kustomization_RenderedByKubectlWithoutACluster_ListsEveryMeshManifest_AndReadsStrictly()
    {
        var rendered = Kubectl("kustomize", K8sDir);

        var objects = Validate(rendered, "kubectl kustomize deploy/k8s");
        Assert.Contains(objects, o => o is V1StatefulSet { Metadata.Name: "mesh-registry" });
        Assert.Contains(objects, o => o is V1Deployment { Metadata.Name: "mesh-injector" });
        Assert.Contains(objects, o => o is V1MutatingWebhookConfiguration);
        Assert.Contains(objects, o => o is V1Secret { Metadata.Name: "mesh-injector-tls" });
    }

    /// <summary>Every document of <paramref name="yaml"/> as its typed model; any unknown field or kind throws, naming <paramref name="name"/>.</summary>
    internal static List<object> Validate(string yaml, string name)
    {
        try
        {
            return KubernetesYaml.LoadAllFromString(yaml, strict: true);
        }
        catch (Exception e)
        {
            var reasons = new List<string>();
            for (Exception? cause = e; cause is not null; cause = cause.InnerException)
                reasons.Add(cause.Message);
            throw new Xunit.Sdk.XunitException($"{name} does not read as Kubernetes API objects: {string.Join(" <- ", reasons)}");
        }
    }

    private static string Kubectl(params string[] args)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "kubectl did not finish in 60 s");
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed: {error.Result}");
        return output.Result;
    }
}
