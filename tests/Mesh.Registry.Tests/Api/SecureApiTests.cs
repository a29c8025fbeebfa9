using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Transport;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Api;

/// <summary>
/// `mesh registry --tls-cert/--tls-key --api-token`: a real 3-node cluster serving its client
/// API over TLS with token authentication, called over real TLS handshakes.
/// </summary>
public sealed class SecureApiTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string ReadToken = "read-token-0123456789abcdef";
    private const string OrdersJoinToken = "orders-join-token-0123456789";
    private readonly TestPki _pki = new();
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3, o => o with
    {
        TlsCertificate = _pki.Server,
        TlsTrust = [_pki.Root],
        ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken), ApiTokenGrant.Parse("read=" + ReadToken)],
        JoinTokens = [JoinTokenGrant.Parse("shop/orders=" + OrdersJoinToken)],
    });

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _pki.Dispose();
    }

    [Fact]
    public async Task PlainHttp_ToTheTlsPort_GetsNoAnswer()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var node = _cluster.Nodes[0]!;
        Assert.Equal("https", node.ClientUrl.Scheme);
        var plain = new UriBuilder(node.ClientUrl) { Scheme = "http" }.Uri;
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(new Uri(plain, "/v1/status")));
    }

    [Fact]
    public async Task ACertificateFromAnotherCa_IsRefusedByTheClient()
    {
        using var otherPki = new TestPki();
        using var client = new RegistryClient(Options() with { Token = AdminToken, TrustedRoots = [otherPki.Root] });
        await Assert.ThrowsAnyAsync<Exception>(() => client.GetAsync("/", cancellationToken: Timeout(5)));
    }

    [Fact]
    public async Task Stranger_CannotReadOrWrite_ButHealthAndTheCaRootAreOpen()
    {
        using var http = Http(token: null);
        var node = _cluster.Nodes[0]!;

        using var read = await http.GetAsync(new Uri(node.ClientUrl, "/v1/nodes/config"));
        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        Assert.Equal("Bearer", read.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Unauthenticated", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var write = await http.PutAsync(new Uri(node.ClientUrl, "/v1/nodes/config/routes/evil"), new StringContent("x"));
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);

        using var wrongToken = Http("not-a-token-at-all-0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongToken.GetAsync(new Uri(node.ClientUrl, "/v1/status"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(node.ClientUrl, "/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TestCluster.WaitForCaRootAsync(http, node.ClientUrl)).StatusCode);
    }

    [Fact]
    public async Task ReadToken_Reads_ButCannotWrite()
    {
        using var admin = new RegistryClient(Options() with { Token = AdminToken, TrustedRoots = [_pki.Root] });
        await admin.CreateAsync("/config/routes/shop", Encoding.UTF8.GetBytes("v1"), createParents: true, cancellationToken: Timeout(15));

        using var reader = new RegistryClient(Options() with { Token = ReadToken, TrustedRoots = [_pki.Root] });
        Assert.Equal("v1", Encoding.UTF8.GetString((await reader.GetAsync("/config/routes/shop", cancellationToken: Timeout(15))).Data));
        var refused = await Assert.ThrowsAsync<RegistryException>(() => reader.SetAsync("/config/routes/shop", Encoding.UTF8.GetBytes("v2"), cancellationToken: Timeout(15)));
        Assert.Equal("Forbidden", refused.Code);
    }

    [Fact]
    public async Task JoinToken_RegistersItsOwnService_OnAFollowerToo_ButCannotWriteRoutes()
    {
        // Sent to a follower: authenticated there, forwarded to the leader over TLS with the token.
        var follower = _cluster.Follower();
        using var sidecar = new RegistryClient(new RegistryClientOptions
        {
            Endpoints = [follower.ClientUrl],
            Token = OrdersJoinToken,
            TrustedRoots = [_pki.Root],
        });
        await sidecar.CreateAsync("/services/orders/instances/a", Encoding.UTF8.GetBytes("{}"), createParents: true, cancellationToken: Timeout(15));

        var routes = await Assert.ThrowsAsync<RegistryException>(() =>
            sidecar.CreateAsync("/config/routes/orders", Encoding.UTF8.GetBytes("hijack"), createParents: true, cancellationToken: Timeout(15)));
        Assert.Equal("Forbidden", routes.Code);
        Assert.Contains("/services/orders/", routes.Message, StringComparison.Ordinal);
        var otherService = await Assert.ThrowsAsync<RegistryException>(() =>
            sidecar.CreateAsync("/services/payments/instances/a", [], createParents: true, cancellationToken: Timeout(15)));
        Assert.Equal("Forbidden", otherService.Code);

        // A transaction is checked op by op, after forwarding, on the leader.
        using var http = Http(OrdersJoinToken);
        var txn = """{"ops":[{"op":"create","path":"/services/orders/instances/b","data":""},{"op":"create","path":"/config/routes/x","data":""}]}""";
        using var answer = await http.PostAsync(new Uri(follower.ClientUrl, "/v1/txn"), new StringContent(txn, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        using var admin = new RegistryClient(Options() with { Token = AdminToken, TrustedRoots = [_pki.Root] });
        Assert.False(await admin.ExistsAsync("/services/orders/instances/b", Timeout(15)));
    }

    private RegistryClientOptions Options() => new() { Endpoints = [.. _cluster.Nodes.Select(n => n!.ClientUrl)] };

    private HttpClient Http(string? token)
    {
        var http = new HttpClient(new SocketsHttpHandler { SslOptions = TlsTrust.ClientOptions([_pki.Root]) }) { Timeout = TimeSpan.FromSeconds(15) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static CancellationToken Timeout(int seconds) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>A private root and a server certificate for 127.0.0.1 signed by it.</summary>
    private sealed class TestPki : IDisposable
    {
        public TestPki()
        {
            using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rootRequest = new CertificateRequest("CN=Registry Test Root", rootKey, HashAlgorithmName.SHA256);
            rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            // One clock reading for both: a leaf may not outlive its issuer, and two readings can
            // straddle a second boundary (it failed once in CI that way).
            var now = DateTimeOffset.UtcNow;
            Root = rootRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

            using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var serverRequest = new CertificateRequest("CN=registry", serverKey, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            serverRequest.CertificateExtensions.Add(names.Build());
            serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var signed = serverRequest.Create(Root, now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4]);
            Server = signed.CopyWithPrivateKey(serverKey);
        }

        public X509Certificate2 Root { get; }

        public X509Certificate2 Server { get; }

        public void Dispose()
        {
            Root.Dispose();
            Server.Dispose();
        }
    }
}
