using System.Net;
using System.Text.Json;
using Mesh.Registry.Contracts;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// Shapes one request forwarded to the leader and its answer. Only the headers the API reads go
/// on (the idempotency pair, <c>Accept</c>, <c>Authorization</c>, the body's type and length),
/// marked <c>Mesh-Forwarded</c>. A write says <c>Connection: close</c> and always has a body
/// (empty if need be), and <c>Expect</c> is not passed on: the handler resends a request that has
/// no body, or waits for 100-continue, by itself when its connection ends before any answer, even
/// a fresh connection; were that resend refused, a write the leader applied would look "never
/// sent". Of the answer, the status, the body and the API's own headers come back, plus
/// <c>Mesh-Leader</c>; a 5xx to a write that the leader did not mark "not applied" becomes
/// 504 <c>OutcomeUnknown</c>.
/// </summary>
internal sealed class LeaderTransformer(Uri leader, int leaderId, bool write) : HttpTransformer
{
    private static readonly HashSet<string> RequestHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Mesh-Client-Id", "Mesh-Request-Seq", "Accept", "Authorization", "Content-Type", "Content-Length",
    };

    private static readonly string[] ResponseHeaders = ["X-Mesh-Index", "X-Mesh-Version", "X-Mesh-Modified-Index", "Retry-After", "Location"];

    private const int MaxErrorBody = 64 * 1024;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        // Copies every header; a Content-Length of 0 gives a bodiless request an empty body.
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        foreach (var name in proxyRequest.Headers.Select(h => h.Key).Where(n => !RequestHeaders.Contains(n)).ToArray())
            proxyRequest.Headers.Remove(name);
        if (proxyRequest.Content is { } content)
        {
            foreach (var name in content.Headers.Select(h => h.Key).Where(n => !RequestHeaders.Contains(n)).ToArray())
                content.Headers.Remove(name);
        }
        proxyRequest.Headers.TryAddWithoutValidation(LeaderForwarder.ForwardedHeader, "1");
        if (write)
            proxyRequest.Headers.ConnectionClose = true;
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is null)
            return false; // no answer: LeaderForwarder answers from the error
        var response = httpContext.Response;
        // Tells the client where the leader is, so its next writes can skip this hop.
        response.Headers[LeaderForwarder.LeaderHeader] = LeaderForwarder.HeaderValueOf(leader);
        if (write && (int)proxyResponse.StatusCode >= 500 && !await IsDefiniteFailureAsync(proxyResponse, cancellationToken).ConfigureAwait(false))
        {
            // A 5xx the leader did not mark "not applied" (a crash mid-request, a proxy in
            // between): the write may have been applied.
            await ApiJson.ErrorAsync(httpContext, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown,
                $"the leader (node {leaderId}) answered {(int)proxyResponse.StatusCode} to the forwarded write; its outcome is unknown").ConfigureAwait(false);
            return false;
        }
        response.StatusCode = (int)proxyResponse.StatusCode;
        foreach (var name in ResponseHeaders)
        {
            if (proxyResponse.Headers.TryGetValues(name, out var values))
                response.Headers[name] = values.ToArray();
        }
        if (proxyResponse.Content.Headers.ContentType is { } type)
            response.ContentType = type.ToString();
        return true;
    }

    /// <summary>
    /// True for the leader's own definite 5xx answers: 503 <c>Unavailable</c> (nothing was
    /// proposed) and 504 <c>OutcomeUnknown</c> (already says so). The body is buffered to read
    /// its code, so it can still be copied on.
    /// </summary>
    private static async Task<bool> IsDefiniteFailureAsync(HttpResponseMessage answer, CancellationToken cancellationToken)
    {
        if (answer.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout))
            return false;
        try
        {
            await answer.Content.LoadIntoBufferAsync(MaxErrorBody, cancellationToken).ConfigureAwait(false);
            // From the buffer, not ReadAsStreamAsync: that stream is cached, and the forwarder copies it on.
            var code = JsonSerializer.Deserialize(await answer.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false), RegistryJson.Default.ErrorResponse)?.Error;
            return answer.StatusCode == HttpStatusCode.ServiceUnavailable ? code == ApiErrors.Unavailable : code == ApiErrors.OutcomeUnknown;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
