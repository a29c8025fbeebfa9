using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Registry.Api.Forwarding;

/// <summary>
/// Sends a request this follower cannot serve to the leader's client address with YARP's
/// <see cref="IHttpForwarder"/> and streams the answer back (<see cref="LeaderTransformer"/>
/// shapes both). A forwarded request carries <c>Mesh-Forwarded</c>; a node that gets one while not
/// leading answers 503 instead of forwarding again, so a stale leader view can never make a loop.
/// A forward that fails is answered by what is known of the write: 503 <c>Unavailable</c> only
/// when no connection to the leader was made (writes never reuse one, see <see cref="PeerClients"/>),
/// so not a byte was sent; once sent, 504 <c>OutcomeUnknown</c>.
/// </summary>
internal sealed class LeaderForwarder(IHttpForwarder forwarder, MemberAddresses addresses, PeerClients clients, TimeSpan timeout)
{
    public const string ForwardedHeader = "Mesh-Forwarded";

    /// <summary>On answers to writes and linearizable reads: the leader's client URL (whether it answered itself or a follower forwarded).</summary>
    public const string LeaderHeader = "Mesh-Leader";

    // A member's URL without the trailing slash, as Mesh-Leader and the forwarding destination
    // name it: made once per URL (members' URLs are made once and kept) instead of per request.
    private static readonly ConditionalWeakTable<Uri, string> HeaderValues = new();

    // HTTP/1.1 as the API's clients use it: one request per connection for writes (over TLS, ALPN
    // could otherwise pick HTTP/2, which multiplexes). The timeout is of inactivity: the leader
    // answers a write within its own request timeout.
    private readonly ForwarderRequestConfig _config = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = timeout,
    };

    /// <summary>How <c>Mesh-Leader</c> names the member at <paramref name="url"/>: its URL without the trailing slash.</summary>
    public static string HeaderValueOf(Uri url) => HeaderValues.GetValue(url, static u => u.ToString().TrimEnd('/'));

    public async Task ForwardAsync(HttpContext context, int leaderId)
    {
        Uri? leader;
        using (var lookup = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            lookup.CancelAfter(timeout);
            try
            {
                leader = await addresses.ResolveAsync(leaderId, lookup.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                leader = null;
            }
        }
        if (leader is null)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"node {leaderId} leads but has not published its client address (start it with --advertise-client, or give peers as id=raft@client)").ConfigureAwait(false);
            return;
        }

        var write = !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method);
        // A write without a body (a DELETE) is sent with an empty one (see LeaderTransformer).
        if (write && context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true })
            context.Request.Headers.ContentLength = 0;
        var error = await forwarder.SendAsync(context, HeaderValueOf(leader), write ? clients.Writes : clients.Reads, _config,
            new LeaderTransformer(leader, leaderId, write)).ConfigureAwait(false);
        if (error != ForwarderError.None)
            await AnswerFailureAsync(context, error, leaderId, write).ConfigureAwait(false);
    }

    private async Task AnswerFailureAsync(HttpContext context, ForwarderError error, int leaderId, bool write)
    {
        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        // The client's body broke a limit (or was malformed) while it streamed to the leader: the
        // client's fault (413, 400), answered as if this node had read it.
        if (Find<BadHttpRequestException>(exception) is { } fault)
            ExceptionDispatchInfo.Throw(fault);
        if (context.RequestAborted.IsCancellationRequested)
            return; // the client went away
        if (context.Response.HasStarted)
        {
            context.Abort(); // the answer broke off mid-body: the client must not take it as whole
            return;
        }
        context.Response.Clear();
        var message = exception?.Message ?? error.ToString();
        if (error is ForwarderError.Request or ForwarderError.RequestCreation
            && Find<HttpRequestException>(exception) is { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } refused)
        {
            // No connection to the leader was made, and writes never reuse one, so not a byte of
            // the request left this node: nothing was proposed.
            addresses.Forget(leaderId); // it may have restarted elsewhere: ask again next time
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"could not connect to the leader (node {leaderId}): {refused.Message}; the request was not sent").ConfigureAwait(false);
        }
        else if (write)
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown,
                $"the write was forwarded to the leader (node {leaderId}) but no answer came back ({message}); its outcome is unknown").ConfigureAwait(false);
        }
        else
        {
            await ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable,
                $"the leader (node {leaderId}) did not answer: {message}").ConfigureAwait(false);
        }
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
            if (e is AggregateException aggregate)
                return aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(f => f is not null);
        }
        return null;
    }
}
