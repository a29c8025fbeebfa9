using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Mesh.Cli.Injector;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Cli.Tests.Injector;

/// <summary>
/// <c>mesh injector</c> as a command: the real binary serving a review, its flags' errors, and
/// its certificate from a real registry's mesh CA.
/// </summary>
public sealed class InjectorCommandTests
{
    [Fact]
    public async Task Injector_TheBinaryWithCertAndKey_ServesAReviewOverHttps()
    {
        await using var files = await InjectorTestServer.StartAsync();
        await using var injector = MeshProcess.Start("injector", "--listen", "127.0.0.1:0", "--cert", files.CertificatePath, "--key", files.KeyPath, "--layout", "classic");
        var url = (await injector.WaitForMatchAsync(new Regex(@"injector: (https://\S+)"), TimeSpan.FromSeconds(60))).Groups[1].Value;
        var pod = WorkloadFixtures.PodOf(WorkloadFixtures.Workloads["Job"]);

        using var response = await files.Client.PostAsync(new Uri(new Uri(url), InjectorServer.NamespacePath),
            new StringContent(WorkloadFixtures.Review(pod).ToJsonString(), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["response"]!;
        var patched = InjectorServerTests.ApplyPatch(pod, answer);
        Assert.Contains(((JsonArray)patched["spec"]!["containers"]!), c => (string?)c!["name"] == "mesh-sidecar");
    }

    [Theory]
    [InlineData("--cert", "a.pem")]
    [InlineData("--key", "a.pem")]
    [InlineData("--listen", "nowhere")]
    [InlineData("--layout", "sideways")]
    public async Task Injector_BadFlags_FailWithOneLineNamingThem(string flag, string value)
    {
        var (exitCode, _, error) = await MeshInProcess.RunAsync(["injector", flag, value]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injector_CertificateFilesThatDoNotExist_FailNamingThem()
    {
        var (exitCode, _, error) = await MeshInProcess.RunAsync(["injector", "--listen", "127.0.0.1:0", "--cert", "/nonexistent/tls.crt", "--key", "/nonexistent/tls.key"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("/nonexistent/tls.crt", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeshCaCertificate_ForAJoinToken_IsServedByTheInjector_WithItsSpiffeIdAndTheMeshRoot()
    {
        const string token = "mesh-system-join-token-0123456789";
        await using var cluster = await TestCluster.StartAsync(1, o => o with { JoinTokens = [JoinTokenGrant.Parse("mesh-system=" + token)] });
        var registry = string.Join(',', cluster.Nodes.Select(n => n!.ClientUrl));
        using var root = await TestCluster.WaitForCaRootAsync(cluster.Http, cluster.Nodes[0]!.ClientUrl);
        using var client = new RegistryClient(registry);
        var trust = TrustBundle.FromResponse(await client.GetCaRootAsync());

        await using var rotator = await MeshCaCertificate.StartAsync(registry, token, "mesh-system/mesh-injector", CancellationToken.None);
        await using var server = new InjectorServer(new AdmissionReviewHandler(new(), FailurePolicy.Fail), new IPEndPoint(IPAddress.Loopback, 0), rotator, NullLogger.Instance);
        await server.StartAsync(CancellationToken.None);

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Url.Host, server.Url.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "mesh-injector.mesh-system.svc",
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { trust.Roots[0] }, RevocationMode = X509RevocationMode.NoCheck },
            // Chain to the mesh root checked; the name is not (the mesh CA signs no DNS name: docs/kubernetes.md, "Known gap").
            RemoteCertificateValidationCallback = (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
        });
        using var served = X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
        Assert.Equal($"spiffe://{trust.TrustDomain}/ns/mesh-system/sa/mesh-injector", WorkloadCertificate.TryReadSpiffeId(served)?.ToString());
    }
}
