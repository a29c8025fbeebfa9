using System.Net;
using System.Text.Json;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Watches;

/// <summary>A streaming watch read over a real socket, record by record.</summary>
internal sealed class WatchStreamReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private WatchStreamReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body);
    }

    public HttpResponseMessage Response => _response;

    public static async Task<WatchStreamReader> OpenAsync(HttpClient http, Uri node, string query)
    {
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        var response = await http.GetAsync(new Uri(node, "/v1/watch-stream?" + query), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        if (response.StatusCode != HttpStatusCode.OK)
            Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(timeout.Token)}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        return new WatchStreamReader(response, await response.Content.ReadAsStreamAsync(timeout.Token));
    }

    /// <summary>Opens <c>POST /v1/watch-stream</c> with <paramref name="form"/> (the GET's parameters) as the body.</summary>
    public static async Task<WatchStreamReader> OpenPostAsync(HttpClient http, Uri node, string form)
    {
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node, "/v1/watch-stream"))
        {
            Content = new StringContent(form, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"),
        };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        if (response.StatusCode != HttpStatusCode.OK)
            Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(timeout.Token)}");
        return new WatchStreamReader(response, await response.Content.ReadAsStreamAsync(timeout.Token));
    }

    /// <summary>The next record; null when the stream ended.</summary>
    public async Task<WatchStreamRecord?> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TestCluster.Timeout);
        var line = await _reader.ReadLineAsync(cts.Token);
        return line is null ? null : JsonSerializer.Deserialize(line, RegistryJson.Default.WatchStreamRecord);
    }

    /// <summary>Records up to and including the first that <paramref name="last"/> accepts; fails if the stream ends first.</summary>
    public async Task<List<WatchStreamRecord>> UntilAsync(Func<WatchStreamRecord, bool> last)
    {
        var seen = new List<WatchStreamRecord>();
        while (true)
        {
            var record = await NextAsync();
            Assert.True(record is not null, $"the stream ended after {seen.Count} records");
            seen.Add(record);
            if (last(record))
                return seen;
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
