using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Mesh.Cli.Inject;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Injector;

/// <summary>
/// One workload of each kind whose pods the webhook sees, the pod its controller would create
/// from it (read through the Kubernetes client's typed models, not through the code under test),
/// and the AdmissionReview the API server would send for that pod.
/// </summary>
internal static class WorkloadFixtures
{
    public const string Namespace = "shop";

    private const string PodTemplate = """
        metadata:
          labels: { app: web, version: v2 }
        spec:
          initContainers:
            - name: migrate
              image: web:1
              args: ["migrate"]
          containers:
            - name: web
              image: web:1
              ports: [{ name: http, containerPort: 8080 }]
              readinessProbe: { httpGet: { path: /ready, port: http }, timeoutSeconds: 3 }
              livenessProbe: { tcpSocket: { port: 8080 } }
              resources:
                requests: { cpu: 50m, memory: 64Mi }
                limits: { cpu: "1", memory: 256Mi }
        """;

    /// <summary>The kinds, each with the pod template indented where that kind keeps it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Workloads = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Deployment"] = Workload("apps/v1", "Deployment", "spec:\n  replicas: 2\n  selector: { matchLabels: { app: web } }\n  template:\n", 4),
        ["StatefulSet"] = Workload("apps/v1", "StatefulSet", "spec:\n  serviceName: web\n  selector: { matchLabels: { app: web } }\n  template:\n", 4),
        ["DaemonSet"] = Workload("apps/v1", "DaemonSet", "spec:\n  selector: { matchLabels: { app: web } }\n  template:\n", 4),
        ["Job"] = Workload("batch/v1", "Job", "spec:\n  backoffLimit: 1\n  template:\n", 4, restartNever: true),
        ["CronJob"] = Workload("batch/v1", "CronJob", "spec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n", 8, restartNever: true),
    };

    public static TheoryData<string, string> KindsAndLayouts()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in Workloads.Keys)
        {
            data.Add(kind, "native");
            data.Add(kind, "classic");
        }
        return data;
    }

    private static string Workload(string apiVersion, string kind, string specHead, int indent, bool restartNever = false)
    {
        var template = PodTemplate;
        if (restartNever)
            template = template.Replace("spec:\n", "spec:\n  restartPolicy: Never\n", StringComparison.Ordinal);
        var pad = new string(' ', indent);
        var indented = string.Join('\n', template.Split('\n').Select(l => l.Length == 0 ? l : pad + l));
        return $"apiVersion: {apiVersion}\nkind: {kind}\nmetadata:\n  name: web\n  namespace: {Namespace}\n{specHead}{indented}\n";
    }

    /// <summary>The pod template of the (single) workload in <paramref name="manifest"/>, as YAML text.</summary>
    public static string TemplateYaml(string manifest)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(manifest));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        YamlNode template = ManifestInjector.Kind(root) switch
        {
            "CronJob" => root["spec"]["jobTemplate"]["spec"]["template"],
            "Pod" => root,
            _ => root["spec"]["template"],
        };
        return ManifestDocuments.Render(template);
    }

    /// <summary>The pod a controller creates from the workload's template, as the API server sends it (JSON).</summary>
    public static JsonObject PodOf(string manifest, Action<V1ObjectMeta>? metadata = null)
    {
        var template = KubernetesYaml.Deserialize<V1PodTemplateSpec>(TemplateYaml(manifest), strict: true);
        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = template.Metadata ?? new V1ObjectMeta(),
            Spec = template.Spec,
        };
        pod.Metadata.GenerateName = "web-";
        metadata?.Invoke(pod.Metadata);
        return (JsonObject)JsonNode.Parse(KubernetesJson.Serialize(pod))!;
    }

    public static JsonObject Review(JsonNode? pod, string uid = "a7d0e1f2-0000-4000-8000-000000000001", string operation = "CREATE") => new()
    {
        ["apiVersion"] = "admission.k8s.io/v1",
        ["kind"] = "AdmissionReview",
        ["request"] = new JsonObject
        {
            ["uid"] = uid,
            ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Pod" },
            ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "pods" },
            ["namespace"] = Namespace,
            ["operation"] = operation,
            ["userInfo"] = new JsonObject { ["username"] = "system:serviceaccount:kube-system:replicaset-controller" },
            ["object"] = pod?.DeepClone(),
            ["oldObject"] = null,
            ["dryRun"] = false,
        },
    };
}
