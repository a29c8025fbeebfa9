using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>
/// Sends a request this follower cannot serve to the leader's client address and streams the
/// answer back, keeping method, path, query, body and the idempotency headers. A forwarded request
/// carries <c>Mesh-Forwarded</c>; a node that gets one while not leading answers 503 instead of
/// forwarding again, so a stale leader view can never make a loop.
/// </summary>
internal sealed class LeaderForwarder : IDisposable
{
    public const string ForwardedHeader = "Mesh-Forwarded";

    /// <summary>On answers to writes and linearizable reads: the leader's client URL (whether it answered itself or a follower forwarded).</summary>
    public const string LeaderHeader = "Mesh-Leader";

    private static readonly string[] RequestHeaders = ["Mesh-Client-Id", "Mesh-Request-Seq", "Accept", "Authorization"];
    private static readonly string[] ResponseHeaders = ["X-Mesh-Index", "X-Mesh-Version", "X-Mesh-Modified-Index", "Retry-After", "Location"];

    private readonly HttpMessageInvoker _client;
    private Dictionary<int, Uri> _clientUrls;

    public LeaderForwarder(IReadOnlyList<ClusterMember> members, string scheme = "http", X509Certificate2Collection? trust = null)
    {
        _clientUrls = members.Where(m => m.ClientEndPoint is not null)
            .ToDictionary(m => m.Id, m => new Uri($"{scheme}://{m.ClientEndPoint}"));
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            SslOptions = trust is { Count: > 0 } ? Mesh.Registry.Client.Transport.TlsTrust.ClientOptions(trust) : new(),
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AutomaticDecompression = DecompressionMethods.None,
        });
    }

    public Uri? ClientUrlOf(int id) => _clientUrls.GetValueOrDefault(id);

    /// <summary>Replaces one member's client URL (a node that listened on port 0 learns its port after start). The map is swapped whole.</summary>
    public void Rebind(int id, Uri url) => _clientUrls = new Dictionary<int, Uri>(_clientUrls) { [id] = url };

    public async Task ForwardAsync(HttpContext context, int leaderId, TimeSpan timeout)
    {
        if (!_clientUrls.TryGetValue(leaderId, out var baseUrl))
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"node {leaderId} leads but its client address is unknown here (give peers as id=raft@client)").ConfigureAwait(false);
            return;
        }

        var request = context.Request;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(baseUrl, request.Path.ToUriComponent() + request.QueryString.ToUriComponent()));
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            message.Content = new StreamContent(request.Body);
            if (request.ContentType is { } contentType)
                message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        foreach (var name in RequestHeaders)
        {
            if (request.Headers.TryGetValue(name, out var value))
                message.Headers.TryAddWithoutValidation(name, value.ToArray());
        }
        message.Headers.TryAddWithoutValidation(ForwardedHeader, "1");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(timeout);
        HttpResponseMessage answer;
        try
        {
            answer = await _client.SendAsync(message, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (ClientBodyFault(e) is { } fault)
        {
            // The client's body broke a limit while it streamed to the leader: the client's fault (413), not the leader's.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
            throw;
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"the leader (node {leaderId}) did not answer: {e.Message}").ConfigureAwait(false);
            return;
        }

        using (answer)
        {
            var response = context.Response;
            response.StatusCode = (int)answer.StatusCode;
            // Tells the client where the leader is, so its next writes can skip this hop.
            response.Headers[LeaderHeader] = baseUrl.ToString().TrimEnd('/');
            foreach (var name in ResponseHeaders)
            {
                if (answer.Headers.TryGetValues(name, out var values))
                    response.Headers[name] = values.ToArray();
            }
            if (answer.Content.Headers.ContentType is { } type)
                response.ContentType = type.ToString();
            await answer.Content.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static BadHttpRequestException? ClientBodyFault(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is BadHttpRequestException fault)
                return fault;
        }
        return null;
    }

    /// <summary>
    /// A peer's applied index from its <c>/v1/status</c> (sent as forwarded, so it does not ask its
    /// own peers in turn), or null when it does not answer within <paramref name="timeout"/>.
    /// </summary>
    public async Task<long?> AppliedIndexOfAsync(int id, string? authorization, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_clientUrls.TryGetValue(id, out var baseUrl))
            return null;
        using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, "/v1/status"));
        message.Headers.TryAddWithoutValidation(ForwardedHeader, "1");
        if (!string.IsNullOrEmpty(authorization))
            message.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var answer = await _client.SendAsync(message, deadline.Token).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
                return null;
            using var json = await System.Text.Json.JsonDocument.ParseAsync(
                await answer.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false), cancellationToken: deadline.Token).ConfigureAwait(false);
            return json.RootElement.TryGetProperty("appliedIndex", out var applied) && applied.TryGetInt64(out var index) ? index : null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}
