using System.Net;
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.Tests.Api;

/// <summary>Error answers of the client API, on a single-node registry.</summary>
public sealed class RegistryApiErrorTests
{
    [Fact]
    public async Task Errors_HaveTheContractsCodesAndStatuses()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1, configure: o => o with { WatchHistory = 4 });
        var node = cluster.Nodes[0]!;

        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string code)
        {
            var body = await cluster.JsonAsync(response, status);
            Assert.Equal(code, body.GetProperty("error").GetString());
            Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        }

        var http = cluster.Http;
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/nope")), HttpStatusCode.NotFound, "NotFound");
        await Expect(await http.PatchAsync(cluster.Url(node, "/v1/nodes/a"), null), HttpStatusCode.MethodNotAllowed, "MethodNotAllowed");
        await Expect(await http.DeleteAsync(cluster.Url(node, "/v1/status")), HttpStatusCode.MethodNotAllowed, "MethodNotAllowed");
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/nodes/missing")), HttpStatusCode.NotFound, "NoNode");
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/nodes/a//b")), HttpStatusCode.BadRequest, "InvalidPath");
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/nodes/a/"), new StringContent("")), HttpStatusCode.BadRequest, "InvalidPath");
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/nodes/x/y"), new StringContent("")), HttpStatusCode.NotFound, "NoNode");
        // Answered from its declared length without reading the body; with 100-continue the client
        // waits for that answer instead of racing the node's close with its upload (a broken pipe).
        using (var big = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, "/v1/nodes/big")) { Content = new ByteArrayContent(new byte[1024 * 1024 + 1]) })
        {
            big.Headers.ExpectContinue = true;
            await Expect(await http.SendAsync(big), HttpStatusCode.RequestEntityTooLarge, "DataTooLarge");
        }
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/nodes/a?mode=weird"), new StringContent("")), HttpStatusCode.BadRequest, "BadRequest");
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/txn"), new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "BadRequest");
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/txn"), new StringContent("""{"ops":[{"op":"frob","path":"/a"}]}""")), HttpStatusCode.BadRequest, "BadRequest");
        await Expect(await http.PutAsync(cluster.Url(node, "/v1/sessions/999/keepalive"), null), HttpStatusCode.NotFound, "SessionExpired");
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/nodes/e?mode=ephemeral&session=999"), new StringContent("")), HttpStatusCode.NotFound, "SessionExpired");
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/watch/a?wait=soon")), HttpStatusCode.BadRequest, "BadRequest");

        await cluster.JsonAsync(await http.PostAsync(cluster.Url(node, "/v1/nodes/a"), new StringContent("1")), HttpStatusCode.Created);
        await Expect(await http.PostAsync(cluster.Url(node, "/v1/nodes/a"), new StringContent("1")), HttpStatusCode.Conflict, "NodeExists");
        await Expect(await http.PutAsync(cluster.Url(node, "/v1/nodes/a?version=7"), new StringContent("2")), HttpStatusCode.Conflict, "BadVersion");
        await cluster.JsonAsync(await http.PostAsync(cluster.Url(node, "/v1/nodes/a/b"), new StringContent("")), HttpStatusCode.Created);
        await Expect(await http.DeleteAsync(cluster.Url(node, "/v1/nodes/a")), HttpStatusCode.Conflict, "NotEmpty");

        // A failed transaction names the failing op and applies nothing.
        var txn = await cluster.JsonAsync(await http.PostAsync(cluster.Url(node, "/v1/txn"), new StringContent(
            """{"ops":[{"op":"create","path":"/t","data":"aGk="},{"op":"check","path":"/a","version":5}]}""")), HttpStatusCode.Conflict);
        Assert.Equal("BadVersion", txn.GetProperty("error").GetString());
        Assert.Equal(1, txn.GetProperty("failedOp").GetInt32());
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/nodes/t")), HttpStatusCode.NotFound, "NoNode");

        // The watch history keeps 4 events; older "after" values are gone.
        for (var i = 0; i < 5; i++)
            await cluster.JsonAsync(await http.PutAsync(cluster.Url(node, "/v1/nodes/a"), new StringContent($"{i}")), HttpStatusCode.OK);
        await Expect(await http.GetAsync(cluster.Url(node, "/v1/watch/a?after=1&wait=1s")), HttpStatusCode.Gone, "IndexCompacted");
    }

    [Fact]
    public async Task RetriedWrite_WithSameClientIdAndSeq_IsAppliedOnce()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        var node = cluster.Nodes[0]!;
        var client = Guid.NewGuid().ToString();

        async Task<JsonElement> Send()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, "/v1/nodes/q/item-?mode=sequential&parents=true")) { Content = new StringContent("x") };
            request.Headers.Add("Mesh-Client-Id", client);
            request.Headers.Add("Mesh-Request-Seq", "1");
            return await cluster.JsonAsync(await cluster.Http.SendAsync(request), HttpStatusCode.Created);
        }

        var first = await Send();
        var retry = await Send();
        Assert.Equal(first.GetProperty("index").GetInt64(), retry.GetProperty("index").GetInt64());
        Assert.Equal(first.GetProperty("path").GetString(), retry.GetProperty("path").GetString());
        var children = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node, "/v1/nodes/q?children=true")), HttpStatusCode.OK);
        Assert.Equal(1, children.GetProperty("children").GetArrayLength());
    }
}
