using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Mesh.Cli.Inject;
using Mesh.Cli.Injector;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Cli.Tests.Injector;

/// <summary>
/// A real <c>mesh injector</c> server on loopback port 0, serving a certificate from PEM files
/// signed by a test CA, and a client that trusts only that CA and checks the name, as the API
/// server does with the webhook configuration's caBundle.
/// </summary>
internal sealed class InjectorTestServer : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-injector-test-").FullName;
    private readonly InjectorServer _server;
    private readonly X509Certificate2 _ca;

    private InjectorTestServer(InjectOptions options, FailurePolicy failurePolicy)
    {
        (_ca, var leafPem, var keyPem) = IssueCertificates();
        CertificatePath = Path.Combine(_dir, "tls.crt");
        KeyPath = Path.Combine(_dir, "tls.key");
        File.WriteAllText(CertificatePath, leafPem);
        File.WriteAllText(KeyPath, keyPem);
        _server = new InjectorServer(new AdmissionReviewHandler(options, failurePolicy), new IPEndPoint(IPAddress.Loopback, 0),
            new PemFileCertificateSource(CertificatePath, KeyPath), NullLogger.Instance);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { _ca },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            },
        };
        Client = new HttpClient(handler);
    }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    public HttpClient Client { get; }

    public Uri Url => _server.Url;

    public static async Task<InjectorTestServer> StartAsync(InjectOptions? options = null, FailurePolicy failurePolicy = FailurePolicy.Fail)
    {
        var server = new InjectorTestServer(options ?? new InjectOptions(), failurePolicy);
        await server._server.StartAsync(CancellationToken.None);
        server.Client.BaseAddress = server.Url;
        return server;
    }

    /// <summary>POSTs a review to <paramref name="path"/> and returns the status and the JSON answer.</summary>
    public async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, JsonNode review)
    {
        using var response = await Client.PostAsync(path, new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, (JsonObject)(await response.Content.ReadFromJsonAsync<JsonNode>())!);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A CA and a leaf for 127.0.0.1 and localhost signed by it (PEM).</summary>
    private static (X509Certificate2 Ca, string LeafPem, string KeyPem) IssueCertificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=injector test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        using var caWithKey = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=mesh-injector.mesh-system.svc", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        san.AddDnsName("mesh-injector.mesh-system.svc");
        leafRequest.CertificateExtensions.Add(san.Build());
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = leafRequest.Create(caWithKey, now.AddMinutes(-5), now.AddMinutes(50), [1, 2, 3, 4]);
        return (X509CertificateLoader.LoadCertificate(caWithKey.RawData), leaf.ExportCertificatePem(), leafKey.ExportPkcs8PrivateKeyPem());
    }
}
