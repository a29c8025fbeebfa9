using System.Net;
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.Tests.Api;

/// <summary>
/// The answers to malformed <c>POST /v1/txn</c> bodies: each names the op and the field at fault,
/// with the status and code of docs/registry-api.md. Pinned so the transaction reader can change
/// (hand-written → the contract's records) without a client noticing.
/// </summary>
public sealed class TxnParsingTests
{
    private const string Shape = "the body must be { \"ops\": [ ... ] }";
    private const string Utf8 = "is not valid UTF-8 text (invalid bytes or a lone surrogate escape)";

    public static TheoryData<string, HttpStatusCode, string, string> BadBodies => new()
    {
        { "[1]", HttpStatusCode.BadRequest, "BadRequest", Shape },
        { "{}", HttpStatusCode.BadRequest, "BadRequest", Shape },
        { """{"ops":5}""", HttpStatusCode.BadRequest, "BadRequest", Shape },
        { """{"ops":[]}""", HttpStatusCode.BadRequest, "BadRequest", "a transaction needs at least one op" },
        { """{"ops":[5]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0 is not an object" },
        { """{"ops":[null]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0 is not an object" },
        { """{"ops":[{"op":"check"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0 has no path" },
        { """{"ops":[{"op":"check","path":null}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0 has no path" },
        { """{"ops":[{"op":"check","path":5}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: path must be a string" },
        { """{"ops":[{"op":"check","path":"a"}]}""", HttpStatusCode.BadRequest, "InvalidPath", "op 0: 'a' is not a valid node path" },
        { """{"ops":[{"op":"check","path":"\ud800"}]}""", HttpStatusCode.BadRequest, "InvalidPath", "op 0: path " + Utf8 },
        { """{"ops":[{"op":5,"path":"/a"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: op must be a string" },
        { """{"ops":[{"op":"\udfff","path":"/a"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: op " + Utf8 },
        { """{"ops":[{"path":"/a"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: unknown op '' (check, create, set, delete)" },
        { """{"ops":[{"op":"frob","path":"/a"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: unknown op 'frob' (check, create, set, delete)" },
        { """{"ops":[{"op":"check","path":"/a","version":"1"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: version must be an integer" },
        { """{"ops":[{"op":"check","path":"/a","version":1.5}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: version must be an integer" },
        { """{"ops":[{"op":"check","path":"/a","version":99999999999999999999}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: version must be an integer" },
        { """{"ops":[{"op":"create","path":"/a","session":true}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: session must be an integer" },
        { """{"ops":[{"op":"create","path":"/a","parents":"yes"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: parents must be true or false" },
        { """{"ops":[{"op":"delete","path":"/a","recursive":1}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: recursive must be true or false" },
        { """{"ops":[{"op":"set","path":"/a","data":"!!"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: data must be a base64 string" },
        { """{"ops":[{"op":"create","path":"/a","data":5}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: data must be a base64 string" },
        { """{"ops":[{"op":"create","path":"/a","mode":5}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 0: mode must be a string" },
        { """{"ops":[{"op":"create","path":"/a","mode":"weird"}]}""", HttpStatusCode.BadRequest, "BadRequest", "mode 'weird' is not persistent, ephemeral, sequential or ephemeral_sequential" },
        { """{"ops":[{"op":"check","path":"/a"},{"op":"check","path":"/b","version":"x"}]}""", HttpStatusCode.BadRequest, "BadRequest", "op 1: version must be an integer" },
        { """{"ops":[{"op":"create","path":"/mesh/ca/x"}]}""", HttpStatusCode.Forbidden, "Forbidden", "/mesh/ca holds the certificate authority's state and is not served; use /v1/ca/root for the trust bundle" },
    };

    [Fact]
    public async Task Txn_MalformedBodies_AnswerTheErrorNamingTheOpAndField()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        var node = cluster.Nodes[0]!;
        var wrong = new List<string>();
        foreach (var row in BadBodies)
        {
            var (body, status, code, message) = ((string)row[0], (HttpStatusCode)row[1], (string)row[2], (string)row[3]);
            using var response = await cluster.Http.PostAsync(cluster.Url(node, "/v1/txn"), new StringContent(body, Encoding.UTF8, "application/json"));
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var got = ((int)response.StatusCode, json.GetProperty("error").GetString(), json.GetProperty("message").GetString());
            if (got != ((int)status, code, message))
                wrong.Add($"{body} -> {got}");
        }
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task Txn_InvalidJson_IsBadRequestSayingSo()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        using var response = await cluster.Http.PostAsync(cluster.Url(cluster.Nodes[0]!, "/v1/txn"), new StringContent("{not json"));
        var json = await cluster.JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("BadRequest", json.GetProperty("error").GetString());
        Assert.StartsWith("the body is not valid JSON: ", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Txn_OpDataOverOneMiB_IsDataTooLarge()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        var data = Convert.ToBase64String(new byte[(1024 * 1024) + 1]);
        using var response = await cluster.Http.PostAsync(cluster.Url(cluster.Nodes[0]!, "/v1/txn"),
            new StringContent($$"""{"ops":[{"op":"create","path":"/big","data":"{{data}}"}]}"""));
        var json = await cluster.JsonAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("DataTooLarge", json.GetProperty("error").GetString());
        Assert.Equal("op 0: node data is over 1 MiB", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Txn_NullOptionalFields_MeanTheirDefaults()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        using var response = await cluster.Http.PostAsync(cluster.Url(cluster.Nodes[0]!, "/v1/txn"), new StringContent(
            """{"ops":[{"op":"create","path":"/n","data":null,"version":null,"mode":null,"session":null,"parents":null},{"op":"delete","path":"/n","recursive":null}]}"""));
        var json = await cluster.JsonAsync(response, HttpStatusCode.OK);
        var results = json.GetProperty("results");
        Assert.Equal("create", results[0].GetProperty("op").GetString());
        Assert.Equal("/n", results[0].GetProperty("path").GetString());
        Assert.Equal(0, results[0].GetProperty("stat").GetProperty("version").GetInt64());
        Assert.Equal("delete", results[1].GetProperty("op").GetString());
        Assert.False(results[1].TryGetProperty("stat", out _));
    }
}
