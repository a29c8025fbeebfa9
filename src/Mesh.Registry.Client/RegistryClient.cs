using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Mesh.Registry.Client.Transport;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// The registry's HTTP API as .NET calls (docs/registry-api.md). Thread-safe; one per process is
/// enough. Failover, retries and idempotent write ids are handled inside.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private readonly RegistryTransport _transport;

    public RegistryClient(RegistryClientOptions options)
    {
        Options = options;
        _transport = new RegistryTransport(options.Endpoints, options.RequestTimeout, options.Token, options.TrustedRoots, options.FailFastWhenRefused);
    }

    /// <summary>Over a given handler (tests put a fault injector in front of the real one).</summary>
    internal RegistryClient(RegistryClientOptions options, HttpMessageHandler handler)
    {
        Options = options;
        _transport = new RegistryTransport(options.Endpoints, options.RequestTimeout, handler, options.Token, options.FailFastWhenRefused);
    }

    public RegistryClient(string addresses) : this(RegistryClientOptions.Parse(addresses))
    {
    }

    public RegistryClientOptions Options { get; }

    /// <summary>The address the client currently talks to.</summary>
    public Uri CurrentEndpoint => _transport.CurrentEndpoint;

    /// <summary>The leader writes are sent to, once a follower has named it; null before that.</summary>
    public Uri? LeaderEndpoint => _transport.LeaderEndpoint;

    // ---- nodes ----

    public async Task<NodeData> GetAsync(string path, bool stale = false, CancellationToken cancellationToken = default)
    {
        using var response = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, NodeUrl(path, stale ? "stale=true" : null)), false, null, cancellationToken).ConfigureAwait(false);
        var body = await ReadAsync(response, RegistryJson.Default.NodeResponse, cancellationToken).ConfigureAwait(false);
        return new NodeData(body.Path, body.Data.ToArray(), body.Stat, IndexOf(response));
    }

    /// <summary>The node, or null when it does not exist.</summary>
    public async Task<NodeData?> TryGetAsync(string path, bool stale = false, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetAsync(path, stale, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NoNode)
        {
            return null;
        }
    }

    public async Task<NodeChildren> GetChildrenAsync(string path, bool stale = false, CancellationToken cancellationToken = default)
    {
        using var response = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, NodeUrl(path, stale ? "children=true&stale=true" : "children=true")), false, null, cancellationToken).ConfigureAwait(false);
        var body = await ReadAsync(response, RegistryJson.Default.ChildrenResponse, cancellationToken).ConfigureAwait(false);
        return new NodeChildren(body.Path, body.Children, body.Stat, IndexOf(response));
    }

    /// <summary>
    /// A node's children with the data of each, in one read (<c>children=true&amp;data=true</c>): at
    /// <paramref name="minIndex"/> from the answering node's applied state once it has applied that index
    /// (no trip to the leader), linearizable without it. The data is null from a registry that does not
    /// send it (an older version): read each child then.
    /// </summary>
    internal async Task<(NodeChildren Children, IReadOnlyList<ReadOnlyMemory<byte>>? Data)> GetChildrenWithDataAsync(
        string path, long? minIndex, CancellationToken cancellationToken)
    {
        var query = minIndex is { } at ? $"children=true&data=true&minIndex={at}" : "children=true&data=true";
        using var response = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, NodeUrl(path, query)), false, null, cancellationToken).ConfigureAwait(false);
        var body = await ReadAsync(response, RegistryJson.Default.ChildrenResponse, cancellationToken).ConfigureAwait(false);
        var data = body.Data is { } d && d.Count == body.Children.Count ? d : null;
        return (new NodeChildren(body.Path, body.Children, body.Stat, IndexOf(response)), data);
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) =>
        await TryGetAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Creates a node; returns the created path (with its suffix for sequential modes).</summary>
    public async Task<WriteResult> CreateAsync(
        string path, byte[] data, CreateMode mode = CreateMode.Persistent, long session = 0, bool createParents = false,
        CancellationToken cancellationToken = default)
    {
        if (mode.IsEphemeral() && session == 0)
            throw new ArgumentException("an ephemeral node needs a session", nameof(session));
        var query = $"mode={mode.ToWire()}" + (session != 0 ? $"&session={session}" : "") + (createParents ? "&parents=true" : "");
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, NodeUrl(path, query)) { Content = new ByteArrayContent(data) },
            RegistryJson.Default.WriteResponse, true, cancellationToken).ConfigureAwait(false);
        return new WriteResult(body.Path ?? path, body.Stat, body.Index);
    }

    public async Task<WriteResult> SetAsync(string path, byte[] data, long version = -1, CancellationToken cancellationToken = default)
    {
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Put, NodeUrl(path, $"version={version}")) { Content = new ByteArrayContent(data) },
            RegistryJson.Default.WriteResponse, true, cancellationToken).ConfigureAwait(false);
        return new WriteResult(body.Path ?? path, body.Stat, body.Index);
    }

    public Task<WriteResult> SetAsync(string path, string text, long version = -1, CancellationToken cancellationToken = default) =>
        SetAsync(path, Encoding.UTF8.GetBytes(text), version, cancellationToken);

    public async Task<long> DeleteAsync(string path, long version = -1, bool recursive = false, CancellationToken cancellationToken = default)
    {
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Delete, NodeUrl(path, $"version={version}" + (recursive ? "&recursive=true" : ""))),
            RegistryJson.Default.WriteResponse, true, cancellationToken).ConfigureAwait(false);
        return body.Index;
    }

    /// <summary>Applies all operations or none; throws <see cref="RegistryTransactionException"/> naming the op at fault.</summary>
    public async Task<TxnResult> TransactAsync(IReadOnlyList<TxnOp> ops, CancellationToken cancellationToken = default)
    {
        var request = new TxnRequest([.. ops.Select(o => new TxnOpRequest(o.Op, o.Path, o.Data, o.Version, o.Op == "create" ? o.Mode.ToWire() : null, o.Session))]);
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "v1/txn") { Content = RegistryTransport.JsonContent(request, RegistryJson.Default.TxnRequest) },
            RegistryJson.Default.TxnResponse, true, cancellationToken).ConfigureAwait(false);
        return new TxnResult(body.Index, [.. body.Results.Select(r => r with { Op = r.Op ?? "" })]);
    }

    // ---- sessions ----

    /// <summary>Opens a session; returns its id. Keep it alive with <see cref="KeepAliveAsync"/> (or use <see cref="RegistrySession"/>).</summary>
    public async Task<long> OpenSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var request = new SessionOpenRequest((long)ttl.TotalMilliseconds);
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "v1/sessions") { Content = RegistryTransport.JsonContent(request, RegistryJson.Default.SessionOpenRequest) },
            RegistryJson.Default.SessionResponse, true, cancellationToken).ConfigureAwait(false);
        return body.Id;
    }

    /// <summary>Renews the session's TTL; throws <see cref="RegistryException"/> with code SessionExpired when it is gone.</summary>
    public async Task KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        using var _ = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Put, $"v1/sessions/{sessionId}/keepalive"), false, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        using var _ = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Delete, $"v1/sessions/{sessionId}"), true, null, cancellationToken).ConfigureAwait(false);
    }

    // ---- watches ----

    /// <summary>
    /// One long poll: the change events on <paramref name="path"/> (and below, if recursive) after
    /// index <paramref name="after"/>, blocking up to <paramref name="wait"/> for the first one.
    /// </summary>
    public Task<WatchResult> WatchOnceAsync(string path, long after, bool recursive, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var waitTime = wait ?? Options.WatchWait;
        var url = "v1/watch" + EscapePath(path) +
                  $"?after={after}&wait={(long)waitTime.TotalMilliseconds}ms" + (recursive ? "&recursive=true" : "");
        return WatchCoreAsync(url, waitTime, cancellationToken);
    }

    private async Task<WatchResult> WatchCoreAsync(string url, TimeSpan wait, CancellationToken cancellationToken)
    {
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url), RegistryJson.Default.WatchResponse, false, cancellationToken,
            wait + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return new WatchResult(body.Index, body.Events);
    }

    /// <summary>
    /// Every change event on <paramref name="path"/> after <paramref name="after"/>, in index
    /// order, each exactly once, across reconnects and failovers, until cancelled. When no node
    /// keeps the changes after the index reached any more (a node that installed a snapshot resets
    /// its history), it throws <see cref="RegistryException"/> with code <c>IndexCompacted</c>
    /// rather than skip them: read the state again and watch from its index.
    /// </summary>
    public async IAsyncEnumerable<ChangeEvent> WatchAsync(
        string path, long after, bool recursive = true, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var index = after;
        while (!cancellationToken.IsCancellationRequested)
        {
            WatchResult result;
            try
            {
                result = await WatchOnceAsync(path, index, recursive, null, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryUnavailableException)
            {
                continue; // the transport already waited its deadline; keep trying from the same index
            }

            foreach (var change in result.Events)
            {
                if (change.Index > index)
                    yield return change;
            }

            index = Math.Max(index, result.Index);
        }
    }

    // ---- services ----

    public async Task<IReadOnlyList<string>> ListServicesAsync(CancellationToken cancellationToken = default)
    {
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, "v1/services"), RegistryJson.Default.ServicesResponse, false, cancellationToken).ConfigureAwait(false);
        return body.Services;
    }

    /// <summary>The live instances of a service; with <paramref name="after"/>, blocks until they changed after that index.</summary>
    public async Task<EndpointSet> GetServiceAsync(string service, long? after = null, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var waitTime = wait ?? Options.WatchWait;
        var url = $"v1/services/{Uri.EscapeDataString(service)}" +
                  (after is { } a ? $"?after={a}&wait={(long)waitTime.TotalMilliseconds}ms" : "");
        var body = await _transport.SendJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url), RegistryJson.Default.ServiceResponse, false, cancellationToken,
            after is null ? null : waitTime + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return ToEndpointSet(body);
    }

    internal static EndpointSet ToEndpointSet(ServiceResponse body) =>
        new(body.Service, body.Index, [.. body.Instances.Select(ToInstance).OrderBy(i => i.Id, StringComparer.Ordinal)])
        {
            Owner = body.Owner,
        };

    internal static ServiceInstance ToInstance(ServiceInstanceResponse i) => new()
    {
        Id = i.Id,
        Address = i.Address ?? "",
        Port = i.Port ?? 0,
        Weight = i.Weight ?? 0,
        Version = i.Version ?? "",
        Zone = i.Zone ?? "",
        Labels = (i.Labels ?? ImmutableDictionary<string, string>.Empty).ToImmutableSortedDictionary(StringComparer.Ordinal),
    };

    /// <summary>The registry index now (as seen by a read of <paramref name="path"/>): watch after it to see only what comes next.</summary>
    public async Task<long> CurrentIndexAsync(string path = "/", CancellationToken cancellationToken = default)
    {
        try
        {
            return (await GetAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false)).Index;
        }
        catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NoNode && ex.Index is { } index)
        {
            return index;
        }
    }

    // ---- status ----

    /// <summary>The answering node's <c>/v1/status</c> document, as JSON text.</summary>
    public async Task<string> GetStatusJsonAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _transport.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, "v1/status"), false, null, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    // ---- helpers ----

    private static string NodeUrl(string path, string? query) =>
        "v1/nodes" + EscapePath(path) + (query is null ? "" : "?" + query);

    private static string EscapePath(string path)
    {
        if (path.Length == 0 || path[0] != '/')
            throw new ArgumentException($"node path '{path}' must start with '/'", nameof(path));
        if (path == "/")
            return "/";
        var builder = new StringBuilder(path.Length + 8);
        foreach (var segment in path[1..].Split('/'))
            builder.Append('/').Append(Uri.EscapeDataString(segment));
        return builder.ToString();
    }

    private static long IndexOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Mesh-Index", out var values) &&
        long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var index)
            ? index
            : 0;

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await System.Text.Json.JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException("BadResponse", "empty answer from the registry");
    }

    internal RegistryTransport Transport => _transport;

    private RegistryWatcher? _watcher;

    /// <summary>The one streaming watch of this client, opened on first use.</summary>
    internal RegistryWatcher Watcher
    {
        get
        {
            if (Volatile.Read(ref _watcher) is { } watcher)
                return watcher;
            var created = new RegistryWatcher(this);
            return Interlocked.CompareExchange(ref _watcher, created, null) ?? created;
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _transport.Dispose();
    }
}
