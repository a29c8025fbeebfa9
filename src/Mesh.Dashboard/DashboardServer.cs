// `mesh dashboard` and the demo's dashboard: a small web server that looks at the mesh every
// interval (MeshCollector), keeps the numbers of the window between the last two looks
// (MetricsAggregator) as one JSON document, and serves it at /api/snapshot beside the page under
// /ui/. The page's files are embedded in the binary and the Content-Security-Policy allows this
// origin only, so it works offline and makes no request elsewhere. Nothing the browser sends
// chooses what is scraped.
using System.Net;
using System.Reflection;
using System.Text.Json;
using Mesh.Common.Time;
using Mesh.Registry.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Dashboard;

internal sealed partial class DashboardServer(string registryAddresses, IPEndPoint listen, ILogger logger, TimeProvider? timeProvider = null, TimeSpan? interval = null, ScrapeNetworks? scrapeNetworks = null) : IAsyncDisposable
{
    /// <summary>How often the mesh is looked at; the page polls as often.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);

    private const string ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["/ui/"] = "index.html",
        ["/ui/index.html"] = "index.html",
        ["/ui/app.js"] = "app.js",
        ["/ui/style.css"] = "style.css",
    };

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly TimeSpan _interval = interval ?? DefaultInterval;
    private readonly CancellationTokenSource _stop = new();
    private readonly RegistryClient _registry = new(registryAddresses);
    private WebApplication? _app;
    private MeshCollector? _collector;
    private Task _loop = Task.CompletedTask;
    private byte[]? _snapshot;
    private int _port;

    /// <summary>The page's address (port 0 replaced by the bound one).</summary>
    public Uri Url => new($"http://{(listen.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : listen.Address)}:{_port}/ui/");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Mesh.Dashboard", ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton<IHostLifetime, Common.Hosting.EmbeddedHostLifetime>();
        builder.Logging.ClearProviders();
        ListenOptions? bound = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Listen(listen, o => bound = o);
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        _app = app;
        _collector = new MeshCollector(_registry, _time, scrapeNetworks ?? ScrapeNetworks.Private);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _port = bound!.IPEndPoint!.Port;
        _loop = Task.Run(() => LookAsync(_stop.Token), CancellationToken.None);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        var path = context.Request.Path.Value ?? "/";
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await Error(response, 405, "method-not-allowed", "the dashboard only reads: use GET").ConfigureAwait(false);
            return;
        }

        if (path == "/")
        {
            response.Redirect("/ui/");
            return;
        }

        if (Assets.TryGetValue(path, out var asset))
        {
            response.ContentType = asset.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript; charset=utf-8"
                : asset.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/html; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            await using var stream = Asset(asset);
            await stream.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (path == "/api/snapshot")
        {
            response.Headers.CacheControl = "no-store";
            if (Volatile.Read(ref _snapshot) is not { } snapshot)
            {
                await Error(response, 503, "starting", "the first look at the mesh is not done yet; ask again in a moment").ConfigureAwait(false);
                return;
            }
            response.ContentType = "application/json";
            await response.Body.WriteAsync(snapshot, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await Error(response, 404, "not-found", "not found; the page is at /ui/ and its data at /api/snapshot").ConfigureAwait(false);
    }

    private static Stream Asset(string name) =>
        Assembly.GetExecutingAssembly().GetManifestResourceStream("Mesh.Dashboard.Assets." + name)
        ?? throw new InvalidOperationException($"the dashboard asset {name} is not embedded");

    private static async Task Error(HttpResponse response, int status, string code, string message)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("error", code);
        json.WriteString("message", message);
        json.WriteEndObject();
    }

    /// <summary>Looks every interval; the snapshot always holds the last look and the window before it.</summary>
    private Task LookAsync(CancellationToken cancellationToken)
    {
        MeshObservation? previous = null;
        return Ticker.RunAsync(_interval, async token =>
        {
            try
            {
                var look = await _collector!.CollectAsync(token).ConfigureAwait(false);
                var window = previous is null ? TimeSpan.Zero : _time.GetElapsedTime(previous.Timestamp, look.Timestamp);
                var metrics = previous is null ? null : MetricsAggregator.Aggregate(
                    [.. previous.Sidecars.SelectMany(s => s.Samples)], [.. look.Sidecars.SelectMany(s => s.Samples)], window);
                var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);
                using (var json = new Utf8JsonWriter(buffer))
                    DashboardDocument.Write(json, look, metrics, window);
                Volatile.Write(ref _snapshot, buffer.WrittenSpan.ToArray());
                previous = look;
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // One bad look must not end the dashboard: say so and look again.
                Log.LookFailed(logger, e);
            }
        }, cancellationToken, _time);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        _collector?.Dispose();
        _registry.Dispose();
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "dashboard: a look at the mesh failed; trying again")]
        public static partial void LookFailed(ILogger logger, Exception exception);
    }
}
