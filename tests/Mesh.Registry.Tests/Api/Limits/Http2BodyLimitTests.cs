using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>Body limits over HTTP/2 (which the API serves over TLS), where a refusal resets the stream, not the connection.</summary>
public sealed class Http2BodyLimitTests
{
    [Fact]
    public async Task Sign_OverHttp2_BodyOverLimit_Is413_AndTheConnectionServesTheNextRequest()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=registry", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var server = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await using var cluster = await TestCluster.StartAsync(1, o => o with { TlsCertificate = server, TlsTrust = [server] });
        var node = cluster.Nodes[0]!;
        using var http2 = new HttpClient(new SocketsHttpHandler { SslOptions = Mesh.Registry.Contracts.TlsTrust.ClientOptions([server]) })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(15),
        };

        var response = await http2.PostAsync(new Uri(node.ClientUrl, "/v1/ca/sign"), new ByteArrayContent(new byte[64 * 1024]));

        Assert.Equal(HttpVersion.Version20, response.Version);
        var json = await cluster.JsonAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("BodyTooLarge", json.GetProperty("error").GetString());
        Assert.False(response.Headers.Contains("Connection"));
        Assert.Equal(HttpStatusCode.OK, (await http2.GetAsync(new Uri(node.ClientUrl, "/healthz"))).StatusCode);
    }
}
