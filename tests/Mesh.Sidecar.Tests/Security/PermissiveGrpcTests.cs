using System.Net;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>A permissive inbound listener (migration to mTLS) takes gRPC from plaintext and mTLS callers on one port.</summary>
public sealed class PermissiveGrpcTests : IDisposable
{
    private readonly MeshTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task PermissiveInbound_ServesGrpcOverPlaintextH2c_AndOverMutualTls_OnOnePort()
    {
        await using var grpcApp = await TestApp.StartAsync(async context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.WriteAsync($"{context.Request.Protocol} caller={context.Request.Headers[SidecarSecurity.CallerHeader]}");
        }, h2c: true);
        var config = TestSidecar.Config($"app: {{ address: \"{grpcApp.Url.ToString().TrimEnd('/')}\" }}\n");
        await using var security = new SidecarSecurity(MeshTlsMode.Permissive, _pki.Trust, _pki.Source("greeter"), MeshTestPki.Id("greeter"));
        await using var sidecar = new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = _ => { } }) { Security = security };
        await sidecar.StartAsync(CancellationToken.None);
        using var plaintext = new HttpClient();
        using var mtls = new HttpClient(MeshTlsOptions.CreateHandler(_pki.Source("frontend"), new PeerCertificateValidator(_pki.Trust), MeshTestPki.Id("greeter")));
        var plainUrl = new UriBuilder(sidecar.InboundUrl) { Scheme = "http" }.Uri;

        using var overPlaintext = await plaintext.SendAsync(GrpcLikeRequest(plainUrl));
        using var overMtls = await mtls.SendAsync(GrpcLikeRequest(sidecar.InboundUrl));

        Assert.Equal("HTTP/2 caller=", await overPlaintext.Content.ReadAsStringAsync());
        Assert.Equal("HTTP/2 caller=spiffe://mesh.test/ns/shop/sa/frontend", await overMtls.Content.ReadAsStringAsync());
        Assert.Equal("0", Assert.Single(overPlaintext.TrailingHeaders.GetValues("grpc-status")));
        Assert.Equal("0", Assert.Single(overMtls.TrailingHeaders.GetValues("grpc-status")));
    }

    private static HttpRequestMessage GrpcLikeRequest(Uri url)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, "/greet.Greeter/SayHello"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Headers.Host = "greeter";
        request.Content.Headers.ContentType = new("application/grpc");
        return request;
    }
}
