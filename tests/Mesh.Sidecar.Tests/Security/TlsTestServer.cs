using System.Net;
using Mesh.Registry.Client.Identity;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>
/// A Kestrel listener on 127.0.0.1:0 made a mesh inbound listener with the code under test. It
/// answers "{caller id}|{protocol}|{tls}" (or the 403 from authorization), and <c>/bytes/{size}</c>
/// with <see cref="Pattern"/>.
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsTestServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public Uri PlainUrl => new UriBuilder(Url) { Scheme = "http" }.Uri;

    public HashSet<string> ClientCertificates { get; } = [];

    public static async Task<TlsTestServer> StartAsync(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, MeshTlsMode mode = MeshTlsMode.Strict,
        InboundAuthorization? authorization = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseMeshTls(certificates, validator, mode);
        }));
        var app = builder.Build();
        TlsTestServer? server = null;
        app.Run(async context =>
        {
            if (authorization is not null && !await authorization.AuthorizeAsync(context))
                return;
            if (context.Connection.ClientCertificate is { } cert)
            {
                lock (server!.ClientCertificates)
                    server.ClientCertificates.Add(cert.Thumbprint);
            }

            if (context.Request.Path.StartsWithSegments("/bytes", out var rest) && int.TryParse(rest.Value?.TrimStart('/'), out var size))
            {
                await context.Response.Body.WriteAsync(Pattern(size));
                return;
            }

            var tls = context.Features.Get<ITlsHandshakeFeature>()?.Protocol.ToString() ?? "plaintext";
            await context.Response.WriteAsync($"{context.GetCallerIdentity()}|{context.Request.Protocol}|{tls}");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var port = new Uri(address).Port;
        server = new TlsTestServer(app, new Uri($"https://127.0.0.1:{port}/"));
        return server;
    }

    /// <summary>What <c>/bytes/{size}</c> answers: <paramref name="size"/> bytes of a pattern that shows a lost, repeated or swapped block.</summary>
    public static byte[] Pattern(int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
            bytes[i] = (byte)((i / 251) ^ i);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
