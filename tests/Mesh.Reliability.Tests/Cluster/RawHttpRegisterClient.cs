using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Reliability.Tests.Recording;
using Mesh.Reliability.Tests.Workload;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// <see cref="IRegisterClient"/> over bare HTTP, as a client without the project's library and
/// without idempotency headers would call the API: one attempt per operation, each to the next
/// node in turn (so followers forward much of it), and the answer taken at its word. Key
/// <c>k</c> is node <c>{root}/k</c>: Read = GET, Write = PUT, CAS = PUT ?version=N, Create = POST,
/// Delete = DELETE.
///
/// Only definite answers count as "not applied": <c>503 Unavailable</c>, and a connection refused
/// before a byte was sent. .NET's handler resends a request on a new connection by itself when
/// the connection ends before any answer (a leader killed right after applying) and the
/// connection was reused or the request has no body; were the resend's connection refused, an
/// applied write would look "never sent" (runs with seeds 18016 and 18022 caught exactly that
/// for deletes). So writes never share a connection and always carry a body (empty for a
/// DELETE). Everything else that is not a 2xx or a known 4xx
/// (504 <c>OutcomeUnknown</c>, other 5xx, timeouts, resets) is an unknown outcome. So a registry
/// that answers 503 for a write that still commits fails the linearizability check.
/// </summary>
/// <param name="applied">Called with the registry index of every acknowledged change (for the watch check).</param>
internal sealed class RawHttpRegisterClient(IReadOnlyList<Uri> endpoints, int start, string root, Action<long>? applied = null) : IRegisterClient, IDisposable
{
    public static readonly TimeSpan OperationDeadline = TimeSpan.FromSeconds(4);

    private readonly HttpClient _reads = NewClient();

    /// <summary>Every write on a new connection, closed after its answer (<c>Connection: close</c> on all of them).</summary>
    private readonly HttpClient _writes = NewClient();

    private static HttpClient NewClient() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectTimeout = TimeSpan.FromSeconds(1),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private int _next = start;

    /// <summary>Every "not applied" answer, with its time and reason, for the run's artifacts.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Rejections { get; } = new();

    private OperationRejectedException Rejected(HttpMethod method, Uri url, string reason)
    {
        Rejections.Enqueue($"{System.Diagnostics.Stopwatch.GetTimestamp()} {method} {url.PathAndQuery} at {url.Authority}: {reason}");
        return new OperationRejectedException(reason);
    }

    private Uri UrlOf(string key, string query = "")
    {
        var endpoint = endpoints[(int)((uint)Interlocked.Increment(ref _next) % (uint)endpoints.Count)];
        return new Uri(endpoint, $"v1/nodes{root}/{key}{query}");
    }

    public Task<RegisterResult> ReadAsync(string key, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, UrlOf(key), null, cancellationToken, (status, json) => Task.FromResult(status switch
        {
            HttpStatusCode.OK => RegisterResult.Saw(Encoding.UTF8.GetString(json.GetProperty("data").GetBytesFromBase64()), json.GetProperty("stat").GetProperty("version").GetInt64()),
            HttpStatusCode.NotFound when Code(json) == "NoNode" => RegisterResult.Absent,
            _ => null,
        }));

    public Task<RegisterResult> WriteAsync(string key, string value, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, UrlOf(key), value, cancellationToken, (status, json) => Task.FromResult(status switch
        {
            HttpStatusCode.OK => Applied(json, RegisterResult.Ok(json.GetProperty("stat").GetProperty("version").GetInt64())),
            HttpStatusCode.NotFound when Code(json) == "NoNode" => RegisterResult.Absent,
            _ => null,
        }));

    public Task<RegisterResult> CompareAndSetAsync(string key, long expectedVersion, string value, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, UrlOf(key, $"?version={expectedVersion}"), value, cancellationToken, (status, json) => Task.FromResult(status switch
        {
            HttpStatusCode.OK => Applied(json, RegisterResult.Ok(json.GetProperty("stat").GetProperty("version").GetInt64())),
            HttpStatusCode.Conflict when Code(json) == "BadVersion" => RegisterResult.Failed,
            HttpStatusCode.NotFound when Code(json) == "NoNode" => RegisterResult.Failed,
            _ => null,
        }));

    public Task<RegisterResult> CreateAsync(string key, string value, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, UrlOf(key), value, cancellationToken, (status, json) => Task.FromResult(status switch
        {
            HttpStatusCode.Created => Applied(json, RegisterResult.Ok(json.GetProperty("stat").GetProperty("version").GetInt64())),
            HttpStatusCode.Conflict when Code(json) == "NodeExists" => RegisterResult.Exists,
            _ => null,
        }));

    public Task<RegisterResult> DeleteAsync(string key, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, UrlOf(key), null, cancellationToken, (status, json) => Task.FromResult(status switch
        {
            HttpStatusCode.OK => Applied(json, RegisterResult.Ok()),
            HttpStatusCode.NotFound when Code(json) == "NoNode" => RegisterResult.Absent,
            _ => null,
        }));

    private RegisterResult Applied(JsonElement json, RegisterResult result)
    {
        if (json.TryGetProperty("index", out var index))
            applied?.Invoke(index.GetInt64());
        return result;
    }

    private static string? Code(JsonElement json) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var code) ? code.GetString() : null;

    /// <summary>
    /// One attempt. <paramref name="interpret"/> maps a status and JSON body to a definite result,
    /// or null when the answer is not one it knows (then 503 Unavailable is "not applied" and
    /// anything else unknown).
    /// </summary>
    private async Task<RegisterResult> SendAsync(HttpMethod method, Uri url, string? body, CancellationToken cancellationToken,
        Func<HttpStatusCode, JsonElement, Task<RegisterResult?>> interpret)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(OperationDeadline);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
            request.Content = new StringContent(body);
        else if (method != HttpMethod.Get)
            request.Content = new ByteArrayContent([]); // a DELETE with no body would be resent by the handler itself
        var write = method != HttpMethod.Get;
        if (write)
            request.Headers.ConnectionClose = true;
        HttpResponseMessage response;
        try
        {
            response = await (write ? _writes : _reads).SendAsync(request, deadline.Token);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError)
        {
            throw Rejected(method, url, $"{e.HttpRequestError}, nothing was sent: {e.Message} ({e.InnerException?.GetType().Name}: {e.InnerException?.Message})");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            throw new TimeoutException($"outcome unknown: {method} {url.Authority}: {e.GetType().Name}: {e.Message}", e);
        }
        using (response)
        {
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(deadline.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                throw new TimeoutException($"outcome unknown: the answer from {url.Authority} broke off: {e.Message}", e);
            }
            JsonElement json;
            try
            {
                json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new TimeoutException($"outcome unknown: {(int)response.StatusCode} from {url.Authority} with a body that is not JSON");
            }
            if (await interpret(response.StatusCode, json) is { } result)
                return result;
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && Code(json) == "Unavailable")
                throw Rejected(method, url, $"503: {text}");
            throw new TimeoutException($"outcome unknown: {(int)response.StatusCode} from {url.Authority}: {text}");
        }
    }

    public void Dispose()
    {
        _reads.Dispose();
        _writes.Dispose();
    }
}
