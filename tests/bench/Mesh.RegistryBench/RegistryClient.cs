using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Registry.Contracts;

namespace Mesh.RegistryBench;

/// <summary>
/// A thin HTTP/1.1 keep-alive client for the registry API over several endpoints. Each instance owns
/// one <see cref="SocketsHttpHandler"/> (its own connection pool), like one etcd or ZooKeeper client.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string[] _endpoints;
    private int _next;

    public RegistryClient(IReadOnlyList<string> endpoints, TimeSpan? timeout = null)
    {
        _endpoints = [.. endpoints.Select(e => e.TrimEnd('/'))];
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            UseCookies = false,
        };
        _http = new HttpClient(handler)
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public IReadOnlyList<string> Endpoints => _endpoints;

    /// <summary>The endpoint for the next request: round-robin over all of them (as etcd's client balancer does).</summary>
    public string NextEndpoint() => _endpoints[(int)((uint)Interlocked.Increment(ref _next) % (uint)_endpoints.Length)];

    /// <summary>
    /// Where the next write goes: the leader a follower named in <c>Mesh-Leader</c> when it
    /// forwarded an earlier write (what Mesh.Registry.Client does), else round-robin.
    /// </summary>
    public string WriteEndpoint() => Volatile.Read(ref _leader) ?? NextEndpoint();

    private string? _leader;

    /// <summary>Creates a persistent node; returns the registry index of the write.</summary>
    public Task<long> CreateAsync(string path, byte[] data, CancellationToken ct = default, string? endpoint = null, bool parents = false) =>
        WriteAsync(HttpMethod.Post, $"{endpoint ?? WriteEndpoint()}/v1/nodes{path}?mode=persistent{(parents ? "&parents=true" : "")}", data, ct);

    /// <summary>
    /// Creates a node a test needs before it measures anything, riding out an election (a 503
    /// or a refused connection is retried for up to 10 s). A retry that finds the node already
    /// there means the earlier attempt did commit, which is just as good here.
    /// </summary>
    public async Task SetupCreateAsync(string path, byte[] data, CancellationToken ct = default, bool parents = false)
    {
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await CreateAsync(path, data, ct, parents: parents).ConfigureAwait(false);
                return;
            }
            catch (HttpRequestException e) when (attempt > 0 && e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                return;
            }
            catch (HttpRequestException e) when ((e.StatusCode is null or System.Net.HttpStatusCode.ServiceUnavailable) && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sets a node's data unconditionally; returns the registry index of the write.</summary>
    public Task<long> SetAsync(string path, byte[] data, CancellationToken ct = default, string? endpoint = null) =>
        WriteAsync(HttpMethod.Put, $"{endpoint ?? WriteEndpoint()}/v1/nodes{path}?version=-1", data, ct);

    /// <summary>Deletes a node; returns the registry index of the delete.</summary>
    public Task<long> DeleteAsync(string path, CancellationToken ct = default) =>
        WriteAsync(HttpMethod.Delete, $"{WriteEndpoint()}/v1/nodes{path}", [], ct);

    /// <summary>Reads a node (raw); returns the data length.</summary>
    public async Task<int> ReadAsync(string path, bool stale, CancellationToken ct = default, string? endpoint = null)
    {
        var url = $"{endpoint ?? NextEndpoint()}/v1/nodes{path}?raw=true{(stale ? "&stale=true" : "")}";
        using var resp = await _http.GetAsync(url, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        await EnsureOkAsync(resp, ct).ConfigureAwait(false);
        var body = await resp.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        return body.Length;
    }

    /// <summary>Long-polls a watch; returns the index to resume after and the wake-up count of events.</summary>
    public async Task<(long Index, int Events)> WatchAsync(string endpoint, string path, long after, TimeSpan wait, CancellationToken ct, bool recursive = false)
    {
        var url = $"{endpoint}/v1/watch{path}?after={after.ToString(CultureInfo.InvariantCulture)}&wait={(int)wait.TotalSeconds}s{(recursive ? "&recursive=true" : "")}";
        using var resp = await _http.GetAsync(url, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        await EnsureOkAsync(resp, ct).ConfigureAwait(false);
        var body = await resp.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        var watch = JsonSerializer.Deserialize(body, RegistryJson.Default.WatchResponse) ?? throw new InvalidDataException("the watch answered null");
        return (watch.Index, watch.Events.Count);
    }

    /// <summary>Opens <c>GET /v1/watch-stream?QUERY</c> on one endpoint; the caller reads the response's lines until it disposes it.</summary>
    public async Task<HttpResponseMessage> OpenWatchStreamAsync(string endpoint, string query, CancellationToken ct)
    {
        var resp = await _http.GetAsync($"{endpoint}/v1/watch-stream?{query}", HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
        {
            using (resp)
                await EnsureOkAsync(resp, ct).ConfigureAwait(false);
        }

        return resp;
    }

    /// <summary>GET /v1/status of one endpoint: (id, role), or null if it does not answer.</summary>
    public async Task<(int Id, string Role)?> StatusAsync(string endpoint, CancellationToken ct)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(1));
            using var resp = await _http.GetAsync($"{endpoint}/v1/status", cts.Token).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode)
                return null;
            var status = JsonSerializer.Deserialize(await resp.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false), RegistryJson.Default.StatusResponse);
            return status is null ? null : (status.Id, status.Role);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The highest commit index any endpoint reports (GET /v1/status), or null if none answers: log entries per second from two samples.</summary>
    public async Task<long?> CommitIndexAsync(CancellationToken ct)
    {
        long? best = null;
        foreach (var endpoint in _endpoints)
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(2));
                using var resp = await _http.GetAsync($"{endpoint}/v1/status", cts.Token).ConfigureAwait(false);
                if (!resp.IsSuccessStatusCode)
                    continue;
                var status = JsonSerializer.Deserialize(await resp.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false), RegistryJson.Default.StatusResponse);
                if (status is not null && (best is null || status.CommitIndex > best))
                    best = status.CommitIndex;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
            {
            }
        }

        return best;
    }

    private async Task<long> WriteAsync(HttpMethod method, string url, byte[] data, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, url) { Content = new ByteArrayContent(data) };
        HttpResponseMessage resp;
        try
        {
            resp = await _http.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _leader, null); // the named leader may be gone: round-robin again
            throw;
        }
        using var _ = resp;
        if (resp.Headers.TryGetValues("Mesh-Leader", out var leader) && leader.FirstOrDefault() is { } named && _endpoints.Contains(named))
            Volatile.Write(ref _leader, named);
        else if (!resp.IsSuccessStatusCode)
            Volatile.Write(ref _leader, null);
        await EnsureOkAsync(resp, ct).ConfigureAwait(false);
        var body = await resp.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        return JsonSerializer.Deserialize(body, RegistryJson.Default.WriteResponse)?.Index ?? throw new InvalidDataException("the write answered null");
    }

    private static async Task EnsureOkAsync(HttpResponseMessage resp, CancellationToken ct)
    {
        if (resp.IsSuccessStatusCode)
            return;
        var body = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        throw new HttpRequestException($"{(int)resp.StatusCode} {body}", null, resp.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}
