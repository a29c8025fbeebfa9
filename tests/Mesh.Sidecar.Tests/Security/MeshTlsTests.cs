using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>Real TLS handshakes on loopback: Kestrel with the mesh listener, SocketsHttpHandler with the mesh client options.</summary>
public sealed class MeshTlsTests : IDisposable
{
    private readonly MeshTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Strict_AcceptsMeshClient_OverTls13AndHttp2_AndTheHandlerSeesTheCallerId()
    {
        await using var server = await StartCatalogAsync();
        using var client = Client(_pki.Source("frontend"), MeshTestPki.Id("catalog"));

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("spiffe://mesh.test/ns/shop/sa/frontend|HTTP/2|Tls13", body);
    }

    [Fact]
    public async Task Strict_ManyHttp2StreamsAtOnce_OnOneConnection_EachGetsItsWholeBody()
    {
        // The listener batches the HTTP/2 writer's flushes into TLS records: frames of streams
        // answered together share a record, and a body larger than the pipes still arrives whole.
        await using var server = await StartCatalogAsync();
        using var client = Client(_pki.Source("frontend"), MeshTestPki.Id("catalog"));
        var sizes = Enumerable.Range(0, 64).Select(i => i % 8 == 0 ? 1024 * 1024 + i : 10 + i).ToArray();

        var bodies = await Task.WhenAll(sizes.Select(async size =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Url, $"/bytes/{size}")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpVersion.Version20, response.Version);
            return await response.Content.ReadAsByteArrayAsync();
        }));

        for (var i = 0; i < sizes.Length; i++)
            Assert.True(TlsTestServer.Pattern(sizes[i]).AsSpan().SequenceEqual(bodies[i]), $"body {i} ({sizes[i]} bytes) came back as {bodies[i].Length} other bytes");
    }

    [Fact]
    public async Task Strict_AlsoServesHttp11OverMutualTls()
    {
        await using var server = await StartCatalogAsync();
        using var client = Client(_pki.Source("frontend"), MeshTestPki.Id("catalog"));

        var body = await client.GetStringAsync(server.Url);

        Assert.Equal("spiffe://mesh.test/ns/shop/sa/frontend|HTTP/1.1|Tls13", body);
    }

    [Fact]
    public async Task Strict_RejectsPlaintext()
    {
        await using var server = await StartCatalogAsync();
        using var plain = new HttpClient();

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetStringAsync(server.PlainUrl));
    }

    [Fact]
    public async Task Strict_RejectsClientWithoutCertificate()
    {
        await using var server = await StartCatalogAsync();
        var validator = new PeerCertificateValidator(_pki.Trust);
        var options = MeshTlsOptions.CreateClientOptions(_pki.Source("frontend"), validator, MeshTestPki.Id("catalog"));
        options.LocalCertificateSelectionCallback = null;
        using var client = new HttpClient(new SocketsHttpHandler { SslOptions = options });

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(server.Url));
    }

    [Fact]
    public async Task Strict_RejectsCertificateFromAnotherCa()
    {
        await using var server = await StartCatalogAsync();
        using var otherPki = new MeshTestPki(); // same trust domain, different root
        using var client = Client(otherPki.Source("frontend"), MeshTestPki.Id("catalog"));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(server.Url));
        Assert.Contains(_rejections, r => r.Contains("does not chain to the mesh root", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Strict_RejectsExpiredCertificate()
    {
        await using var server = await StartCatalogAsync();
        var expired = _pki.Issue("frontend", TimeSpan.FromMinutes(30), DateTimeOffset.UtcNow.AddHours(-2));
        using var client = Client(new StaticCertificateSource(expired), MeshTestPki.Id("catalog"));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(server.Url));
        Assert.Contains(_rejections, r => r.Contains("NotTimeValid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Strict_RejectsCertificateWithoutSpiffeId()
    {
        await using var server = await StartCatalogAsync();
        using var client = Client(new StaticCertificateSource(_pki.IssueWithoutSpiffeId()), MeshTestPki.Id("catalog"));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(server.Url));
        Assert.Contains("certificate has no SPIFFE id", _rejections);
    }

    [Fact]
    public async Task Outbound_RefusesAServerWhoseSpiffeIdIsNotTheTarget()
    {
        // billing has a perfectly valid mesh certificate, but we meant to call catalog.
        await using var impostor = await TlsTestServer.StartAsync(_pki.Source("billing"), Validator());
        using var client = Client(_pki.Source("frontend"), MeshTestPki.Id("catalog"));
        using var honest = Client(_pki.Source("frontend"), MeshTestPki.Id("billing"));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(impostor.Url));
        Assert.Contains("server is 'spiffe://mesh.test/ns/shop/sa/billing', expected 'spiffe://mesh.test/ns/shop/sa/catalog'", _rejections);
        Assert.StartsWith("spiffe://mesh.test/ns/shop/sa/frontend|", await honest.GetStringAsync(impostor.Url), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Permissive_ServesPlaintextAndMutualTlsOnOnePort()
    {
        await using var server = await StartCatalogAsync(MeshTlsMode.Permissive);
        using var plain = new HttpClient();
        using var mtls = Client(_pki.Source("frontend"), MeshTestPki.Id("catalog"));

        Assert.Equal("|HTTP/1.1|plaintext", await plain.GetStringAsync(server.PlainUrl));
        Assert.Equal("spiffe://mesh.test/ns/shop/sa/frontend|HTTP/1.1|Tls13", await mtls.GetStringAsync(server.Url));
    }

    [Fact]
    public async Task Permissive_StillRejectsAnInvalidClientCertificate()
    {
        await using var server = await StartCatalogAsync(MeshTlsMode.Permissive);
        using var otherPki = new MeshTestPki();
        using var client = Client(otherPki.Source("frontend"), MeshTestPki.Id("catalog"));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync(server.Url));
    }

    [Fact]
    public async Task IntermediateCa_PeersVerifyThroughTheIntermediate()
    {
        using var operatorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Operator Root", operatorKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var operatorRoot = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(5));
        using var pki = new MeshTestPki(MeshCertificateAuthority.CreateIntermediate(MeshTestPki.TrustDomain, operatorRoot, DateTimeOffset.UtcNow.AddDays(-1)));
        var serverCerts = pki.Source("catalog");
        var clientCerts = pki.Source("frontend");
        await using var server = await TlsTestServer.StartAsync(serverCerts, new PeerCertificateValidator(pki.Trust, serverCerts));
        using var client = new HttpClient(MeshTlsOptions.CreateHandler(clientCerts, new PeerCertificateValidator(pki.Trust, clientCerts), MeshTestPki.Id("catalog")));

        Assert.StartsWith("spiffe://mesh.test/ns/shop/sa/frontend|", await client.GetStringAsync(server.Url), StringComparison.Ordinal);
        Assert.Single(pki.Trust.Roots);
    }

    private readonly List<string> _rejections = [];

    private PeerCertificateValidator Validator()
    {
        var validator = new PeerCertificateValidator(_pki.Trust);
        validator.Rejected += (_, reason) =>
        {
            lock (_rejections)
                _rejections.Add(reason);
        };
        return validator;
    }

    private Task<TlsTestServer> StartCatalogAsync(MeshTlsMode mode = MeshTlsMode.Strict) =>
        TlsTestServer.StartAsync(_pki.Source("catalog"), Validator(), mode);

    private HttpClient Client(IWorkloadCertificateSource certificates, SpiffeId server) =>
        new(MeshTlsOptions.CreateHandler(certificates, Validator(), server)) { Timeout = TimeSpan.FromSeconds(30) };
}
