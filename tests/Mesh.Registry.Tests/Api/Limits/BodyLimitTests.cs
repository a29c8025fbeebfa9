using System.Net;
using System.Text;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Api.Limits;

/// <summary>Every endpoint reads at most the body its purpose needs; more is 413 before it is buffered.</summary>
public sealed class BodyLimitTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    private RegistryNode Node => _cluster.Nodes[0]!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Sign_DeclaredBodyOverLimit_Is413BeforeAnyBodyByteIsSent()
    {
        await using var raw = await RawHttp.ConnectAsync(Node.ClientUrl);
        await raw.SendHeadAsync("POST", "/v1/ca/sign", "Content-Type: application/json", "Content-Length: 15728640");
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);

        var response = await raw.ReadResponseAsync(timeout.Token);

        Assert.NotNull(response);
        Assert.Equal(413, response.Status);
        Assert.Equal("BodyTooLarge", response.Error);
        Assert.Contains("16 KiB", response.Message, StringComparison.Ordinal);
        Assert.Contains("15728640", response.Message, StringComparison.Ordinal);
        Assert.Equal(16 * 1024, response.Json.GetProperty("limitBytes").GetInt64());
        Assert.Equal("close", response.Headers["Connection"]);
    }

    [Fact]
    public async Task Sign_ChunkedBodyOverLimit_Is413NamingTheLimit()
    {
        var response = await StreamUntilAnsweredAsync("/v1/ca/sign", maxBytes: 1024 * 1024);
        Assert.Equal(413, response.Status);
        Assert.Equal("BodyTooLarge", response.Error);
        Assert.Contains("signing request may be at most 16 KiB", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_ChunkedDataOverOneMiB_Is413DataTooLarge()
    {
        var response = await StreamUntilAnsweredAsync("/v1/nodes/big", maxBytes: 8 * 1024 * 1024);
        Assert.Equal(413, response.Status);
        Assert.Equal("DataTooLarge", response.Error);
        Assert.Contains("1 MiB", response.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _cluster.Http.GetAsync(_cluster.Url(Node, "/v1/nodes/big"))).StatusCode);
    }

    [Fact]
    public async Task Sessions_DeclaredBodyOverLimit_Is413()
    {
        await using var raw = await RawHttp.ConnectAsync(Node.ClientUrl);
        await raw.SendHeadAsync("POST", "/v1/sessions", "Content-Length: 100000");
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        var response = await raw.ReadResponseAsync(timeout.Token);
        Assert.Equal(413, response!.Status);
        Assert.Equal("BodyTooLarge", response.Error);
    }

    [Fact]
    public async Task Txn_100000CreateOps_IsRefusedWithTheOpLimit()
    {
        // Short paths: 3.4 MB, under the byte limit, so the op count is what refuses it.
        var body = "{\"ops\":[" + string.Join(',', Enumerable.Range(0, 100_000).Select(i => $"{{\"op\":\"create\",\"path\":\"/n{i}\"}}")) + "]}";
        Assert.InRange(body.Length, 1, 4 * 1024 * 1024);

        var response = await _cluster.Http.PostAsync(_cluster.Url(Node, "/v1/txn"), new StringContent(body, Encoding.UTF8, "application/json"));

        var json = await _cluster.JsonAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("TooManyOps", json.GetProperty("error").GetString());
        Assert.Equal("a transaction may have at most 1000 ops (--max-txn-ops); this one has 100000", json.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _cluster.Http.GetAsync(_cluster.Url(Node, "/v1/nodes/n0"))).StatusCode);
    }

    [Fact]
    public async Task Txn_TheReported9MegabyteTransaction_IsRefusedByTheByteLimit()
    {
        // As found on main: 100,000 creates with data in one 9.7 MB transaction.
        var body = "{\"ops\":[" + string.Join(',', Enumerable.Range(0, 100_000).Select(i => $"{{\"op\":\"create\",\"path\":\"/flood/node-{i:D6}\",\"data\":\"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==\"}}")) + "]}";
        Assert.True(body.Length > 9_000_000);

        // With Expect: 100-continue the client learns of the refusal without sending the body;
        // without it, the registry answers and closes the connection instead of reading 9 MB.
        using var request = new HttpRequestMessage(HttpMethod.Post, _cluster.Url(Node, "/v1/txn")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        var response = await _cluster.Http.SendAsync(request);

        var json = await _cluster.JsonAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("BodyTooLarge", json.GetProperty("error").GetString());
        Assert.Contains("transaction (--max-txn-bytes) may be at most 4 MiB", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Txn_PathWithInvalidUtf8_Is400NamingTheProblem()
    {
        byte[] body = [.. "{\"ops\":[{\"op\":\"create\",\"path\":\"/a"u8, 0xFF, 0xFE, .. "\"}]}"u8];
        var response = await _cluster.Http.PostAsync(_cluster.Url(Node, "/v1/txn"), new ByteArrayContent(body));
        var json = await _cluster.JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("InvalidPath", json.GetProperty("error").GetString());
        Assert.Equal("op 0: path is not valid UTF-8 text (invalid bytes or a lone surrogate escape)", json.GetProperty("message").GetString());

        // An escaped lone surrogate is the same fault, in the op name too.
        foreach (var text in new[] { """{"ops":[{"op":"create","path":"/a\ud800"}]}""", """{"ops":[{"op":"cr\udc00","path":"/a"}]}""" })
        {
            var escaped = await _cluster.Http.PostAsync(_cluster.Url(Node, "/v1/txn"), new StringContent(text));
            Assert.Equal(HttpStatusCode.BadRequest, escaped.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await _cluster.Http.GetAsync(_cluster.Url(Node, "/healthz"))).StatusCode);
    }

    // Streams a chunked body in 16 KiB chunks until the server answers (or maxBytes is sent).
    private async Task<RawResponse> StreamUntilAnsweredAsync(string path, int maxBytes)
    {
        await using var raw = await RawHttp.ConnectAsync(Node.ClientUrl);
        await raw.SendHeadAsync("POST", path, "Content-Type: application/json", "Transfer-Encoding: chunked");
        var chunk = RawHttp.Chunk(Enumerable.Repeat((byte)'x', 16 * 1024).ToArray());
        var sent = 0;
        while (sent < maxBytes && !raw.AnswerWaiting && await raw.TrySendAsync(chunk))
        {
            sent += 16 * 1024;
            await Task.Delay(5);
        }
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        var response = await raw.ReadResponseAsync(timeout.Token);
        Assert.NotNull(response);
        Assert.True(sent < maxBytes, $"the server read all {sent} bytes without answering");
        return response;
    }
}
