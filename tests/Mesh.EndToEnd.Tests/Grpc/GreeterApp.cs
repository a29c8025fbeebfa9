// The gRPC server app: Grpc.AspNetCore on a real Kestrel listener speaking h2c, as a gRPC app
// behind a sidecar does (the sidecar forwards gRPC to it as HTTP/2 with prior knowledge).
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.EndToEnd.Tests.Grpc;

internal sealed class GreeterApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GreeterApp(WebApplication app, Uri url, GreeterObservations observations)
    {
        _app = app;
        Url = url;
        Observations = observations;
    }

    public Uri Url { get; }

    public GreeterObservations Observations { get; }

    public static async Task<GreeterApp> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        var observations = new GreeterObservations();
        builder.Services.AddSingleton(observations);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<GreeterService>();
        await app.StartAsync();
        return new GreeterApp(app, new Uri(app.Urls.First()), observations);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
