using System.Text.Json;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Api.Status;

/// <summary>
/// Asks other members how far they have applied the log, for the lags of <c>/v1/status</c> and
/// the leader's member-lag gauge. DotNext keeps the leader's per-follower indexes to itself, so
/// each member is asked over its client API. The call is marked forwarded, so the peer does not
/// ask its own peers in turn.
/// </summary>
internal sealed class PeerStatusClient(MemberAddresses addresses, HttpMessageInvoker client)
{
    /// <summary>A peer's applied index, or null when it does not answer within <paramref name="timeout"/>.</summary>
    public async Task<long?> AppliedIndexOfAsync(int id, string? authorization, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            if (await addresses.ResolveAsync(id, deadline.Token).ConfigureAwait(false) is not { } baseUrl)
                return null;
            using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, "/v1/status"));
            message.Headers.TryAddWithoutValidation(LeaderForwarder.ForwardedHeader, "1");
            if (!string.IsNullOrEmpty(authorization))
                message.Headers.TryAddWithoutValidation("Authorization", authorization);
            using var answer = await client.SendAsync(message, deadline.Token).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
                return null;
            var status = await JsonSerializer.DeserializeAsync(
                await answer.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false), RegistryJson.Default.StatusResponse, deadline.Token).ConfigureAwait(false);
            return status?.AppliedIndex;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The applied index of each of <paramref name="ids"/>, asked at once; null for one that did not answer.</summary>
    public Task<long?[]> AppliedIndexesAsync(IEnumerable<int> ids, string? authorization, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.WhenAll(ids.Select(id => AppliedIndexOfAsync(id, authorization, timeout, cancellationToken)));
}
