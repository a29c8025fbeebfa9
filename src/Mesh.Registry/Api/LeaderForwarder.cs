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

    private const int MaxErrorBody = 64 * 1024;

    private readonly HttpMessageInvoker _client;

    /// <summary>
    /// For forwarded writes: every request with a body (empty if need be) on a new connection,
    /// closed after the answer. On a connection that ends before the answer, the handler resends
    /// a request by itself when it was reused or the request has no body; were the resend's
    /// connection refused, a write the leader may have applied would look "never sent". So a
    /// connect failure proves nothing was sent.
    /// </summary>
    private readonly HttpMessageInvoker _writeClient;
    private readonly Dictionary<int, Uri> _clientUrls;
    private readonly Func<int, CancellationToken, ValueTask<IPEndPoint?>> _published;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Uri> _publishedUrls = new();
    private readonly string _scheme;

    /// <param name="members">Client addresses given in --peers (<c>@client</c>) win over published ones.</param>
    /// <param name="published">A member's client address as it publishes it to the cluster (member metadata).</param>
    public LeaderForwarder(IReadOnlyList<ClusterMember> members, Func<int, CancellationToken, ValueTask<IPEndPoint?>> published, string scheme = "http", X509Certificate2Collection? trust = null)
    {
        _scheme = scheme;
        _published = published;
        _clientUrls = members.Where(m => m.ClientEndPoint is not null)
            .ToDictionary(m => m.Id, m => new Uri($"{scheme}://{m.ClientEndPoint}"));
        _client = new HttpMessageInvoker(NewHandler(trust));
        _writeClient = new HttpMessageInvoker(NewHandler(trust));
    }

    private static SocketsHttpHandler NewHandler(X509Certificate2Collection? trust) => new()
    {
        SslOptions = trust is { Count: > 0 } ? Mesh.Registry.Client.Transport.TlsTrust.ClientOptions(trust) : new(),
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        AutomaticDecompression = DecompressionMethods.None,
    };

    /// <summary>The client URL of member <paramref name="id"/> if known without asking it.</summary>
    public Uri? ClientUrlOf(int id) => _clientUrls.GetValueOrDefault(id) ?? _publishedUrls.GetValueOrDefault(id);

    /// <summary>The client URL of member <paramref name="id"/>: from --peers, else as it publishes it (asked once, then cached).</summary>
    public async ValueTask<Uri?> ResolveAsync(int id, CancellationToken cancellationToken)
    {
        if (ClientUrlOf(id) is { } known)
            return known;
        if (await _published(id, cancellationToken).ConfigureAwait(false) is not { } endPoint)
            return null;
        return _publishedUrls[id] = new Uri($"{_scheme}://{endPoint}");
    }

    public async Task ForwardAsync(HttpContext context, int leaderId, TimeSpan timeout)
    {
        using var lookup = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        lookup.CancelAfter(timeout);
        if (await ResolveAsync(leaderId, lookup.Token).ConfigureAwait(false) is not { } baseUrl)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"node {leaderId} leads but has not published its client address (start it with --advertise-client, or give peers as id=raft@client)").ConfigureAwait(false);
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

        var write = !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method);
        if (write)
        {
            message.Headers.ConnectionClose = true;
            // The handler resends a request without a body (a DELETE) by itself when the
            // connection ends before any answer, even a fresh one: the leader applied it and died,
            // the resend's connection is refused, and an applied delete would look "never sent".
            // With a body (empty here) it never resends.
            message.Content ??= new ByteArrayContent([]);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(timeout);
        HttpResponseMessage answer;
        try
        {
            answer = await (write ? _writeClient : _client).SendAsync(message, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (ClientBodyFault(e) is { } fault)
        {
            // The client's body broke a limit while it streamed to the leader: the client's fault (413), not the leader's.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
            throw;
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            // No connection to the leader was made, and writes never reuse one (see _writeClient),
            // so not a byte of the request left this node: nothing was proposed.
            _publishedUrls.TryRemove(leaderId, out _); // it may have restarted elsewhere: ask again next time
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"could not connect to the leader (node {leaderId}): {e.Message}; the request was not sent").ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            if (write)
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown,
                    $"the write was forwarded to the leader (node {leaderId}) but no answer came back ({e.Message}); its outcome is unknown").ConfigureAwait(false);
            }
            else
            {
                await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                    $"the leader (node {leaderId}) did not answer: {e.Message}").ConfigureAwait(false);
            }
            return;
        }

        using (answer)
        {
            var response = context.Response;
            // Tells the client where the leader is, so its next writes can skip this hop.
            response.Headers[LeaderHeader] = baseUrl.ToString().TrimEnd('/');
            if (write && (int)answer.StatusCode >= 500 && !await IsDefiniteFailureAsync(answer, deadline.Token).ConfigureAwait(false))
            {
                // A 5xx the leader did not mark "not applied" (a crash mid-request, a proxy in
                // between): the write may have been applied.
                await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown,
                    $"the leader (node {leaderId}) answered {(int)answer.StatusCode} to the forwarded write; its outcome is unknown").ConfigureAwait(false);
                return;
            }
            response.StatusCode = (int)answer.StatusCode;
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
    /// True for the leader's own definite 5xx answers: 503 <c>Unavailable</c> (nothing was
    /// proposed) and 504 <c>OutcomeUnknown</c> (already says so). The body is buffered to read
    /// its code, so it can still be copied on.
    /// </summary>
    private static async Task<bool> IsDefiniteFailureAsync(HttpResponseMessage answer, CancellationToken cancellationToken)
    {
        if (answer.StatusCode is not (System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.GatewayTimeout))
            return false;
        try
        {
            await answer.Content.LoadIntoBufferAsync(MaxErrorBody, cancellationToken).ConfigureAwait(false);
            using var json = await System.Text.Json.JsonDocument.ParseAsync(
                await answer.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            var code = json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
            return answer.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable ? code == ApiErrors.Unavailable : code == ApiErrors.OutcomeUnknown;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// A peer's applied index from its <c>/v1/status</c> (sent as forwarded, so it does not ask its
    /// own peers in turn), or null when it does not answer within <paramref name="timeout"/>.
    /// </summary>
    public async Task<long?> AppliedIndexOfAsync(int id, string? authorization, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(id, cancellationToken).ConfigureAwait(false) is not { } baseUrl)
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

    public void Dispose()
    {
        _client.Dispose();
        _writeClient.Dispose();
    }
}
