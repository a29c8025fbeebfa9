// GET /app-health/{name} on the admin listener: the app's own kubelet probe, which `mesh inject`
// rewrote to the admin port because strict mTLS on the inbound listener refuses the kubelet's
// plaintext. Only the names in `appProbes:` are served, so the admin port cannot reach arbitrary
// app paths. The call goes to 127.0.0.1 from the sidecar (whose uid is excluded from
// interception); one handler for every probe, created once, off every proxy path.
using System.Globalization;
using System.Net.Sockets;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Admin;

internal sealed class AppHealthProbes : IDisposable
{
    public const string PathPrefix = AppProbeConfig.AdminPathPrefix;

    private readonly IReadOnlyDictionary<string, AppProbeConfig> _probes;
    private readonly HttpMessageInvoker _client;

    public AppHealthProbes(IReadOnlyDictionary<string, AppProbeConfig> probes)
    {
        _probes = probes;
        // Connecting counts against each probe's own timeout, so no separate connect timeout.
        var handler = Forwarder.ProxyHandlers.Create(Timeout.InfiniteTimeSpan);
        handler.PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30);
        handler.MaxConnectionsPerServer = 4;
        // The kubelet does not check an HTTPS probe's certificate; neither does its stand-in.
        handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        _client = new HttpMessageInvoker(handler);
    }

    public async Task HandleAsync(HttpContext context, string name)
    {
        var response = context.Response;
        if (!_probes.TryGetValue(name, out var probe))
        {
            await Text(response, StatusCodes.Status404NotFound, $"no app probe '{name}' in appProbes").ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await Text(response, StatusCodes.Status405MethodNotAllowed, "app probes answer GET and HEAD").ConfigureAwait(false);
            return;
        }
        var (status, reason) = await CallAsync(probe, context.RequestAborted).ConfigureAwait(false);
        await Text(response, status, reason).ConfigureAwait(false);
    }

    /// <summary>The app's 2xx or 3xx as is; anything else, a timeout or no connection: 503 and why.</summary>
    private async Task<(int Status, string Reason)> CallAsync(AppProbeConfig probe, CancellationToken aborted)
    {
        var scheme = probe.Scheme == AppProbeScheme.Https ? "https" : "http";
        var target = new Uri($"{scheme}://127.0.0.1:{probe.Port.ToString(CultureInfo.InvariantCulture)}{probe.Path}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(probe.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, target);
        request.Headers.UserAgent.ParseAdd("mesh-sidecar-app-probe");
        try
        {
            using var answer = await _client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var code = (int)answer.StatusCode;
            return code is >= 200 and < 400
                ? (code, $"app answered {code}")
                : (StatusCodes.Status503ServiceUnavailable, $"app answered {code} at {target.PathAndQuery}");
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            return (StatusCodes.Status503ServiceUnavailable, $"app did not answer within {probe.Timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms at port {probe.Port.ToString(CultureInfo.InvariantCulture)}");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException)
        {
            // HttpClient wraps most network failures, but a reset right after connect can surface bare.
            var why = (e as SocketException ?? e.InnerException as SocketException)?.SocketErrorCode.ToString()
                ?? (e as HttpRequestException)?.HttpRequestError.ToString() ?? e.Message;
            return (StatusCodes.Status503ServiceUnavailable, $"app unreachable at port {probe.Port.ToString(CultureInfo.InvariantCulture)}: {why}");
        }
    }

    private static Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text + "\n");
    }

    public void Dispose() => _client.Dispose();
}
