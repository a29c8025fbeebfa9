// `mesh injector`: the mutating admission webhook. The API server POSTs an AdmissionReview for
// each pod created in an opted-in namespace (/inject/namespace) or carrying an opt-in label
// (/inject/workload); AdmissionReviewHandler decides and builds the answer. Served over HTTPS
// only (the API server calls webhooks over TLS and checks the certificate against the
// configuration's caBundle), with a bounded body and clear 4xx answers for what is not a review.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Registry.Client.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Injector;

internal sealed partial class InjectorServer(AdmissionReviewHandler handler, IPEndPoint listen, IWorkloadCertificateSource certificates, ILogger logger) : IAsyncDisposable
{
    /// <summary>
    /// The largest review read. The API server stores objects of at most about 1.5 MiB, and a
    /// CREATE review carries one; a bigger body is refused (413) before it is all read.
    /// </summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    public const string NamespacePath = "/inject/namespace";
    public const string WorkloadPath = "/inject/workload";

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private WebApplication? _app;
    private int _port;

    /// <summary>The server's address (port 0 replaced by the bound one).</summary>
    public Uri Url => new($"https://{(listen.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : listen.Address)}:{_port}/");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Mesh.Injector", ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton<IHostLifetime, Common.Hosting.EmbeddedHostLifetime>();
        builder.Logging.ClearProviders();
        ListenOptions? bound = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Listen(listen, o =>
            {
                bound = o;
                o.Protocols = HttpProtocols.Http1AndHttp2;
                // Read at every handshake, so a renewed certificate is served from the next connection.
                o.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = certificates.Current.Context,
                    }),
                });
            });
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _port = bound!.IPEndPoint!.Port;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path is "/healthz" or "/readyz")
        {
            await WriteAsync(context, 200, "text/plain", "ok\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        InjectionScope scope;
        switch (path)
        {
            case NamespacePath:
                scope = InjectionScope.Namespace;
                break;
            case WorkloadPath:
                scope = InjectionScope.Workload;
                break;
            default:
                await ErrorAsync(context, 404, "NotFound", $"no such path; the webhook is POST {NamespacePath} or {WorkloadPath}").ConfigureAwait(false);
                return;
        }
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await ErrorAsync(context, 405, "MethodNotAllowed", $"{path} takes POST of an AdmissionReview").ConfigureAwait(false);
            return;
        }
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await ErrorAsync(context, 413, "TooLarge", $"the review is {context.Request.ContentLength} bytes, more than the {MaxBodyBytes} bytes read").ConfigureAwait(false);
            return;
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, documentOptions: ParseOptions, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            Log.BadReview(logger, e.Message);
            await ErrorAsync(context, 400, "BadRequest", $"the body is not JSON: {e.Message}").ConfigureAwait(false);
            return;
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await ErrorAsync(context, 413, "TooLarge", $"the review is more than the {MaxBodyBytes} bytes read").ConfigureAwait(false);
            return;
        }

        JsonObject answer;
        try
        {
            answer = handler.Review(body, scope);
        }
        catch (AdmissionReviewException e)
        {
            // No uid to answer: the API server applies the configuration's failure policy to the 400.
            Log.BadReview(logger, e.Message);
            await ErrorAsync(context, 400, "BadRequest", e.Message).ConfigureAwait(false);
            return;
        }
        await WriteAsync(context, 200, "application/json", JsonSerializer.SerializeToUtf8Bytes(answer)).ConfigureAwait(false);
    }

    private static Task ErrorAsync(HttpContext context, int status, string code, string message) =>
        WriteAsync(context, status, "application/json", JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["error"] = code, ["message"] = message }));

    private static async Task WriteAsync(HttpContext context, int status, string contentType, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "injector: refused a request that is not an AdmissionReview: {Reason}")]
        public static partial void BadReview(ILogger logger, string reason);
    }
}
