// A real Kestrel app on 127.0.0.1 and a free port, for upstreams in tests.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Testing;

internal sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestApp(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public int Port => Url.Port;

    /// <summary>Starts an app whose every request is handled by <paramref name="handler"/>.</summary>
    public static Task<TestApp> StartAsync(RequestDelegate handler, bool h2c = false) => StartAppAsync(app =>
    {
        app.UseWebSockets();
        app.Run(handler);
    }, h2c);

    /// <summary>Starts an app that <paramref name="configure"/> gives its middleware and endpoints.</summary>
    public static async Task<TestApp> StartAppAsync(Action<WebApplication> configure, bool h2c = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = h2c ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2));
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        return new TestApp(app, new Uri(app.Urls.First()));
    }

    /// <summary>An app that answers 200 with <paramref name="name"/> as its body.</summary>
    public static Task<TestApp> NamedAsync(string name) =>
        StartAsync(context => context.Response.WriteAsync(name));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
