using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Mesh.Cli.Inject;
using Mesh.Cli.Injector;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson;

namespace Mesh.Cli.Tests.Injector;

/// <summary>
/// The webhook as the API server meets it: a real HTTPS server answering AdmissionReviews, its
/// JSON Patch applied by a real JSON Patch implementation and compared, through the Kubernetes
/// typed models, with what <c>mesh inject</c> writes for the same workload.
/// </summary>
public sealed class InjectorServerTests
{
    public static TheoryData<string, string> KindsAndLayouts() => WorkloadFixtures.KindsAndLayouts();

    [Theory]
    [MemberData(nameof(KindsAndLayouts))]
    public async Task Review_APodOfEachWorkloadKind_PatchedEqualsWhatMeshInjectWrites(string kind, string layoutName)
    {
        SidecarLayouts.TryParse(layoutName, out var layout);
        var options = new InjectOptions { Layout = layout };
        await using var server = await InjectorTestServer.StartAsync(options);
        var manifest = WorkloadFixtures.Workloads[kind];
        var pod = WorkloadFixtures.PodOf(manifest);

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod));

        Assert.Equal(HttpStatusCode.OK, status);
        var response = (JsonObject)body["response"]!;
        Assert.Equal("a7d0e1f2-0000-4000-8000-000000000001", (string?)response["uid"]);
        Assert.True((bool)response["allowed"]!);
        Assert.Equal("JSONPatch", (string?)response["patchType"]);
        var patched = ApplyPatch(pod, response);
        var expected = KubernetesYaml.Deserialize<V1PodTemplateSpec>(
            WorkloadFixtures.TemplateYaml(new ManifestInjector(options).Inject(manifest, "m.yaml")), strict: true);
        // Strict: a field the API does not know, or a value of the wrong type, is an error here.
        var actual = KubernetesYaml.Deserialize<V1Pod>(patched.ToJsonString(), strict: true);
        Assert.Equal(KubernetesJson.Serialize(expected.Spec), KubernetesJson.Serialize(actual.Spec));
        Assert.Equal(expected.Metadata.Annotations.OrderBy(a => a.Key), actual.Metadata.Annotations.OrderBy(a => a.Key));
        Assert.Equal(expected.Metadata.Labels.OrderBy(a => a.Key), actual.Metadata.Labels.OrderBy(a => a.Key));
        var sidecarIsInit = actual.Spec.InitContainers.Any(c => c.Name == PodInjection.SidecarName);
        Assert.Equal(layout == SidecarLayout.Native, sidecarIsInit);
    }

    [Fact]
    public async Task Review_AnAlreadyInjectedPod_IsAllowedUnchanged()
    {
        await using var server = await InjectorTestServer.StartAsync();
        var injected = new ManifestInjector(new InjectOptions()).Inject(WorkloadFixtures.Workloads["Deployment"], "m.yaml");
        var pod = WorkloadFixtures.PodOf(injected);

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod));

        AssertUnchanged(status, body, "already injected");
    }

    [Theory]
    [InlineData("annotation")]
    [InlineData("label")]
    public async Task Review_AnOptedOutPod_IsAllowedUnchanged(string how)
    {
        await using var server = await InjectorTestServer.StartAsync();
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"], m =>
        {
            if (how == "annotation")
                m.Annotations = new Dictionary<string, string> { [AdmissionReviewHandler.InjectKey] = "disabled" };
            else
                m.Labels[AdmissionReviewHandler.InjectKey] = "disabled";
        });

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod));

        AssertUnchanged(status, body, "opted out");
    }

    [Fact]
    public async Task Review_APodOfANamespaceNotOptedIn_WithoutItsOwnOptIn_IsAllowedUnchanged()
    {
        await using var server = await InjectorTestServer.StartAsync();
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"]);

        var (status, body) = await server.PostAsync(InjectorServer.WorkloadPath, WorkloadFixtures.Review(pod));

        AssertUnchanged(status, body, "not opted in");
    }

    [Theory]
    [InlineData("annotation")]
    [InlineData("label")]
    public async Task Review_APodOfANamespaceNotOptedIn_OptingInItself_IsInjected(string how)
    {
        await using var server = await InjectorTestServer.StartAsync();
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"], m =>
        {
            if (how == "annotation")
                m.Annotations = new Dictionary<string, string> { [AdmissionReviewHandler.InjectKey] = "enabled" };
            else
                m.Labels[AdmissionReviewHandler.InjectKey] = "enabled";
        });

        var (status, body) = await server.PostAsync(InjectorServer.WorkloadPath, WorkloadFixtures.Review(pod));

        Assert.Equal(HttpStatusCode.OK, status);
        var patched = ApplyPatch(pod, (JsonObject)body["response"]!);
        Assert.Equal("injected", (string?)patched["metadata"]!["annotations"]![PodInjection.StatusAnnotation]);
    }

    [Fact]
    public async Task Review_TheLayoutAnnotation_OverridesTheInjectorsDefault()
    {
        await using var server = await InjectorTestServer.StartAsync(new InjectOptions { Layout = SidecarLayout.Native });
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"],
            m => m.Annotations = new Dictionary<string, string> { [SidecarLayouts.Annotation] = "classic" });

        var (_, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod));

        var patched = KubernetesYaml.Deserialize<V1Pod>(ApplyPatch(pod, (JsonObject)body["response"]!).ToJsonString(), strict: true);
        Assert.Contains(patched.Spec.Containers, c => c.Name == PodInjection.SidecarName);
        Assert.DoesNotContain(patched.Spec.InitContainers, c => c.Name == PodInjection.SidecarName);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{\"apiVersion\": \"admission.k8s.io/v1beta1\", \"kind\": \"AdmissionReview\", \"request\": {\"uid\": \"x\"}}")]
    [InlineData("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\"}")]
    [InlineData("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"object\": {}}}")]
    [InlineData("{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"uid\": \"a\", \"uid\": \"b\"}}")]
    public async Task Review_NotAnAdmissionReviewItCanAnswer_IsA400NamingTheProblem(string body)
    {
        await using var server = await InjectorTestServer.StartAsync();

        using var response = await server.Client.PostAsync(InjectorServer.NamespacePath, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("BadRequest", (string?)error["error"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
    }

    public static TheoryData<string> MalformedPods() =>
    [
        "\"a string, not a pod\"",
        "{\"metadata\": {\"name\": \"p\"}}",
        "{\"metadata\": {\"annotations\": \"not a map\"}, \"spec\": {\"containers\": []}}",
        "{\"spec\": {\"containers\": [{\"name\": \"web\", \"readinessProbe\": {\"httpGet\": {\"port\": \"nope\"}}}]}}",
        "{\"metadata\": {\"annotations\": {\"mesh.dev/sidecar-layout\": \"sideways\"}}, \"spec\": {\"containers\": [{\"name\": \"web\"}]}}",
    ];

    [Theory]
    [MemberData(nameof(MalformedPods))]
    public async Task Review_APodThatCannotBeInjected_UnderFailurePolicyFail_IsRefusedWithTheReason(string pod)
    {
        await using var server = await InjectorTestServer.StartAsync(failurePolicy: FailurePolicy.Fail);

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(JsonNode.Parse(pod)));

        Assert.Equal(HttpStatusCode.OK, status);
        var response = (JsonObject)body["response"]!;
        Assert.False((bool)response["allowed"]!);
        Assert.Null(response["patch"]);
        Assert.Equal(400, (int)response["status"]!["code"]!);
        Assert.StartsWith("mesh injector: cannot inject: ", (string?)response["status"]!["message"]);
    }

    [Theory]
    [MemberData(nameof(MalformedPods))]
    public async Task Review_APodThatCannotBeInjected_UnderFailurePolicyIgnore_IsAllowedUnchangedWithAWarning(string pod)
    {
        await using var server = await InjectorTestServer.StartAsync(failurePolicy: FailurePolicy.Ignore);

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(JsonNode.Parse(pod)));

        Assert.Equal(HttpStatusCode.OK, status);
        var response = (JsonObject)body["response"]!;
        Assert.True((bool)response["allowed"]!);
        Assert.Null(response["patch"]);
        Assert.StartsWith("mesh injector: cannot inject: ", (string?)response["warnings"]![0]);
    }

    [Fact]
    public async Task Review_NotAPodCreation_IsAllowedUnchanged()
    {
        await using var server = await InjectorTestServer.StartAsync();
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"]);

        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod, operation: "UPDATE"));

        AssertUnchanged(status, body, "not a pod being created");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Review_AHugeBody_IsRefusedWith413_AndTheServerAnswersTheNextReview(bool announced)
    {
        await using var server = await InjectorTestServer.StartAsync();
        var huge = new string('x', (int)InjectorServer.MaxBodyBytes + 1024);
        var content = new StringContent($"{{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"pad\": \"{huge}\"}}", Encoding.UTF8, "application/json");
        if (!announced)
            content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, InjectorServer.NamespacePath) { Content = announced ? content : new ChunkedContent(content) };
        // Refused before the body is read: the client must wait for the answer rather than write
        // megabytes into a connection the server closes (the API server would then see an error and
        // apply the failure policy, as for a 413).
        request.Headers.ExpectContinue = true;

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Deployment"]);
        var (status, body) = await server.PostAsync(InjectorServer.NamespacePath, WorkloadFixtures.Review(pod));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True((bool)body["response"]!["allowed"]!);
    }

    [Fact]
    public async Task Get_OfTheWebhookPath_Is405_AndAnUnknownPathIs404_AndHealthzIsOk()
    {
        await using var server = await InjectorTestServer.StartAsync();

        using var get = await server.Client.GetAsync(InjectorServer.NamespacePath);
        using var unknown = await server.Client.PostAsync("/mutate", new StringContent("{}"));
        using var health = await server.Client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Server_ACertificateRenewedOnDisk_IsServedFromTheNextConnection()
    {
        await using var server = await InjectorTestServer.StartAsync();
        var first = await ServedCertificateAsync(server);
        // A renewed Secret: the same name, a new certificate and key.
        await using var other = await InjectorTestServer.StartAsync();
        File.Copy(other.CertificatePath, server.CertificatePath, overwrite: true);
        File.Copy(other.KeyPath, server.KeyPath, overwrite: true);
        File.SetLastWriteTimeUtc(server.CertificatePath, DateTime.UtcNow.AddMinutes(1));

        var second = await ServedCertificateAsync(server);

        Assert.NotEqual(first, second);
    }

    /// <summary>The thumbprint of the certificate a fresh TLS connection to the server is given.</summary>
    private static async Task<string> ServedCertificateAsync(InjectorTestServer server)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Url.Host, server.Url.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        return tls.RemoteCertificate!.GetCertHashString();
    }

    private static void AssertUnchanged(HttpStatusCode status, JsonObject body, string why)
    {
        Assert.Equal(HttpStatusCode.OK, status);
        var response = (JsonObject)body["response"]!;
        Assert.True((bool)response["allowed"]!);
        Assert.Null(response["patch"]);
        Assert.Null(response["patchType"]);
        Assert.StartsWith(why, (string?)response["auditAnnotations"]!["injection"]);
    }

    /// <summary>The pod with the answer's base64 JSON Patch applied by ASP.NET Core's RFC 6902 implementation.</summary>
    internal static JsonObject ApplyPatch(JsonObject pod, JsonObject response)
    {
        var patch = JsonSerializer.Deserialize<JsonPatchDocument>(Convert.FromBase64String((string)response["patch"]!))!;
        var target = (JsonObject)pod.DeepClone();
        patch.ApplyTo(target);
        return target;
    }

    /// <summary>Content sent without a length (chunked), so the server learns its size only by reading.</summary>
    private sealed class ChunkedContent(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
