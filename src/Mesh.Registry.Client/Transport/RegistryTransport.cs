using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Transport;

/// <summary>
/// Sends one logical request to the registry, failing over between addresses until it gets an
/// answer or the deadline passes. Every node answers every request (followers forward writes),
/// so failover only has to find a node that is up. Writes carry a client id and a sequence
/// number that stays the same across attempts (one client id per in-flight write, see
/// <see cref="WriteLane"/>), so a retry of a write whose first attempt did
/// commit returns the first result instead of applying twice.
/// </summary>
internal sealed class RegistryTransport : IDisposable
{
    // Between failed attempts: 25 ms doubling up to 500 ms, jittered, so clients that lost the
    // same node do not all try the next one in step.
    private static readonly Mesh.Common.Time.RetryLoop Failover = new(new Mesh.Common.Time.Backoff(TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(500)));

    private readonly Uri[] _endpoints;
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private readonly bool _failFastWhenRefused;
    private readonly ConcurrentBag<WriteLane> _idleLanes = [];
    private int _current;
    private int _leader = -1;

    public RegistryTransport(IReadOnlyList<Uri> endpoints, TimeSpan timeout, string? token = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2Collection? trustedRoots = null, bool failFastWhenRefused = false)
        : this(endpoints, timeout, new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            AutomaticDecompression = DecompressionMethods.None,
            SslOptions = trustedRoots is { Count: > 0 } ? TlsTrust.ClientOptions(trustedRoots) : new(),
        }, token, failFastWhenRefused)
    {
    }

    /// <summary>Over a given handler (tests put a fault injector in front of the real one).</summary>
    internal RegistryTransport(IReadOnlyList<Uri> endpoints, TimeSpan timeout, HttpMessageHandler handler, string? token = null, bool failFastWhenRefused = false)
    {
        if (endpoints.Count == 0)
            throw new ArgumentException("at least one registry address is required", nameof(endpoints));
        _endpoints = [.. endpoints];
        _timeout = timeout;
        _failFastWhenRefused = failFastWhenRefused;
        _http = new HttpClient(handler)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrEmpty(token))
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
    }

    public Uri CurrentEndpoint => _endpoints[Volatile.Read(ref _current) % _endpoints.Length];

    /// <summary>Where writes go: the leader a follower named, or null (then the current address).</summary>
    public Uri? LeaderEndpoint => Volatile.Read(ref _leader) is >= 0 and var i ? _endpoints[i] : null;

    /// <summary>
    /// A client id with its own sequence, carrying at most one logical write at a time. The server
    /// keeps only the last applied sequence per client id and refuses a lower one as StaleRequest,
    /// so concurrent writes under one id could be refused (or a retry of an applied write told
    /// "stale" instead of its result) when they reached the leader out of order. Each in-flight
    /// write rents a lane; a lane whose last write's outcome stayed unknown is safe to reuse: the
    /// old write, if it lands after the next one, is refused as stale and not applied.
    /// </summary>
    private sealed class WriteLane
    {
        public string ClientId { get; } = Guid.NewGuid().ToString("N");

        public long Sequence { get; set; }
    }

    /// <summary>
    /// Sends a request built by <paramref name="build"/> (called once per attempt) and returns the
    /// successful response, or throws <see cref="RegistryException"/> with the registry's code.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> build, bool write, TimeSpan? attemptTimeout, CancellationToken cancellationToken)
    {
        WriteLane? lane = null;
        if (write && !_idleLanes.TryTake(out lane))
            lane = new WriteLane();
        try
        {
            long? sequence = lane is null ? null : ++lane.Sequence;
            return await SendCoreAsync(build, lane?.ClientId, sequence, attemptTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (lane is not null)
                _idleLanes.Add(lane);
        }
    }

    private async Task<HttpResponseMessage> SendCoreAsync(
        Func<HttpRequestMessage> build, string? clientId, long? writeSequence, TimeSpan? attemptTimeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _timeout + (attemptTimeout ?? TimeSpan.Zero);
        Exception? lastError = null;
        // Addresses that refused the connection, until any attempt fails another way (a timeout
        // or an election is worth waiting out; a refusal from every address is not).
        var refused = _failFastWhenRefused ? new HashSet<int>() : null;
        // A write attempt that may have been applied (sent and unanswered, or answered
        // OutcomeUnknown) keeps the write's outcome unknown until a later attempt answers it: the
        // idempotency headers make that later answer the first one's result. A refusal or a 503
        // Unavailable ("never proposed") says nothing about an earlier attempt.
        var mayHaveApplied = false;
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Writes go to the leader when a follower has told us which one it is (Mesh-Leader),
            // saving the follower's forwarding hop; reads stay on the current address.
            var leader = writeSequence is null ? -1 : Volatile.Read(ref _leader);
            var endpointIndex = Volatile.Read(ref _current);
            var endpoint = leader >= 0 ? _endpoints[leader] : _endpoints[endpointIndex % _endpoints.Length];
            using var request = build();
            request.RequestUri = new Uri(endpoint, request.RequestUri!.ToString().TrimStart('/'));
            if (writeSequence is { } seq)
            {
                request.Headers.Add("Mesh-Client-Id", clientId);
                request.Headers.Add("Mesh-Request-Seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(attemptTimeout ?? _timeout);
            HttpResponseMessage? response = null;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, attemptCts.Token).ConfigureAwait(false);
                NoteLeader(response);
                if (response.IsSuccessStatusCode)
                    return response;

                var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                response.Dispose();
                if (!IsRetryable(error))
                    throw error;
                lastError = error;
                mayHaveApplied |= writeSequence is not null && error.Code is not RegistryErrorCodes.Unavailable;
            }
            catch (Exception ex) when (IsTransportFailure(ex))
            {
                response?.Dispose();
                lastError = ex;
                if (IsRefusal(ex))
                {
                    refused?.Add(leader >= 0 ? leader : endpointIndex % _endpoints.Length);
                }
                else
                {
                    refused = null;
                    mayHaveApplied |= writeSequence is not null;
                }
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                response?.Dispose();
                lastError = new RegistryException(RegistryErrorCodes.Timeout, $"registry at {endpoint} did not answer in time", null, ex);
                refused = null;
                mayHaveApplied |= writeSequence is not null;
            }

            if (lastError is RegistryException)
                refused = null;
            if (refused is not null && refused.Count == _endpoints.Length)
            {
                if (mayHaveApplied)
                    throw OutcomeUnknown(lastError);
                throw new RegistryUnavailableException(
                    $"no registry answered: every address refused the connection (tried {string.Join(", ", _endpoints.Select(e => e.Authority))}); is the registry running?",
                    lastError);
            }

            // Forget a leader that failed; otherwise move on to the next address (unless another
            // caller already did).
            if (leader >= 0)
                Interlocked.CompareExchange(ref _leader, -1, leader);
            else
                Interlocked.CompareExchange(ref _current, endpointIndex + 1, endpointIndex);
            if (DateTime.UtcNow >= deadline)
                break;
            await Task.Delay(Failover.NextDelay(attempt + 1), cancellationToken).ConfigureAwait(false);
        }

        if (mayHaveApplied)
            throw OutcomeUnknown(lastError);
        throw new RegistryUnavailableException(
            $"no registry answered within {_timeout.TotalSeconds:0.#} s (tried {string.Join(", ", _endpoints.Select(e => e.Authority))}): {lastError?.Message}",
            lastError);
    }

    private RegistryOutcomeUnknownException OutcomeUnknown(Exception? lastError) => new(
        $"the write's outcome is unknown: an attempt may have been applied, and no registry answered it within {_timeout.TotalSeconds:0.#} s "
            + $"(tried {string.Join(", ", _endpoints.Select(e => e.Authority))}): {lastError?.Message}",
        lastError);

    // HttpClient wraps most network failures in HttpRequestException, but not all: a connection
    // reset between connect and its first use surfaces as a bare SocketException ("Transport
    // endpoint is not connected", found by the registry fault run) or IOException. All of them
    // mean "this node did not answer": try the next one.
    private static bool IsTransportFailure(Exception ex) =>
        ex is HttpRequestException or System.Net.Sockets.SocketException or IOException;

    private static bool IsRefusal(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
                return true;
        }
        return false;
    }

    private void NoteLeader(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Mesh-Leader", out var values)
            || !Uri.TryCreate(values.FirstOrDefault(), UriKind.Absolute, out var leader))
            return;
        var index = Array.FindIndex(_endpoints, e => e.Scheme == leader.Scheme && e.Authority == leader.Authority);
        if (index >= 0)
            Volatile.Write(ref _leader, index);
    }

    /// <summary>
    /// Opens a long response (a streaming watch) at <paramref name="pathAndQuery"/>, built anew per
    /// attempt: on the current address, then the next one after a failure, waiting a little more
    /// each round, until one answers 200 or an error that retrying cannot fix (a 4xx other than
    /// 429), which is thrown. Watchers ride out a registry restart, so there is no deadline but
    /// <paramref name="cancellationToken"/>. Returns the response with its body unread.
    /// </summary>
    public Task<(HttpResponseMessage Response, Uri Endpoint)> OpenStreamAsync(Func<string> pathAndQuery, CancellationToken cancellationToken) =>
        OpenStreamAsync(endpoint => new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, pathAndQuery().TrimStart('/'))), cancellationToken);

    /// <summary>As above, with the request <paramref name="build"/> makes for an address (a POST with a body, say).</summary>
    public async Task<(HttpResponseMessage Response, Uri Endpoint)> OpenStreamAsync(Func<Uri, HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var endpoint = CurrentEndpoint;
            HttpResponseMessage? response = null;
            try
            {
                using var request = build(endpoint);
                using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                headers.CancelAfter(_timeout);
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return (response, endpoint);
                var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                response.Dispose();
                if ((int)response.StatusCode is >= 400 and < 500 and not 429)
                    throw error;
            }
            catch (Exception ex) when (IsTransportFailure(ex) || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                response?.Dispose();
            }
            MoveOn(endpoint);
            await Task.Delay(Failover.NextDelay(attempt + 1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Moves the current address past <paramref name="endpoint"/> (unless another caller already did): it failed or ended a stream.</summary>
    public void MoveOn(Uri endpoint)
    {
        var current = Volatile.Read(ref _current);
        if (_endpoints[current % _endpoints.Length] == endpoint)
            Interlocked.CompareExchange(ref _current, current + 1, current);
    }

    public async Task<T> SendJsonAsync<T>(
        Func<HttpRequestMessage> build, JsonTypeInfo<T> type, bool write, CancellationToken cancellationToken, TimeSpan? attemptTimeout = null)
    {
        using var response = await SendAsync(build, write, attemptTimeout, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException("BadResponse", $"empty answer from the registry at {CurrentEndpoint}");
    }

    public static HttpContent JsonContent<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    // Every write carries Mesh-Client-Id and Mesh-Request-Seq, so a retry of a write whose outcome
    // is unknown is applied at most once (the server answers a repeat with the first result).
    private static bool IsRetryable(RegistryException error) =>
        error.Code is RegistryErrorCodes.Unavailable or RegistryErrorCodes.Timeout or RegistryErrorCodes.OutcomeUnknown;

    private static async Task<RegistryException> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        ErrorResponse? body = null;
        try
        {
            body = JsonSerializer.Deserialize(text, RegistryJson.Default.ErrorResponse);
        }
        catch (JsonException)
        {
        }

        var code = body?.Error ?? (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway
            ? RegistryErrorCodes.Unavailable
            : response.StatusCode == HttpStatusCode.GatewayTimeout ? RegistryErrorCodes.Timeout : "HttpError");
        var message = body?.Message ?? $"registry answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(text)}";
        long? index = response.Headers.TryGetValues("X-Mesh-Index", out var values) &&
                      long.TryParse(values.FirstOrDefault(), out var parsed) ? parsed : null;
        return body?.Results is { } results
            ? new RegistryTransactionException(code, message, response.StatusCode, body.FailedOp ?? -1,
                results.Select(r => r with { Op = r.Op ?? "" }).ToList())
            { Index = index }
            : new RegistryException(code, message, response.StatusCode) { Index = index };
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";

    public void Dispose() => _http.Dispose();
}
