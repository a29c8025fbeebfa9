using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// A node a ZooKeeper client closed with an ACL stays closed over the HTTP API: a sidecar's join
/// token reads only what <c>world:anyone</c> may, operators read everything (real node, real sockets).
/// </summary>
public sealed class ZooKeeperAclOverHttpTests
{
    private const string AdminToken = "acl-over-http-admin-token-0123";
    private const string ShopToken = "acl-over-http-shop-join-token-01";

    private static readonly Acl AliceAll = new(Acl.All, new Id("digest", ZkDigest.Of("alice:secret")));

    // What Curator's JsonInstanceSerializer writes.
    private static readonly byte[] CuratorInstance = Encoding.UTF8.GetBytes("""{"name":"legacy","id":"6f1c","address":"10.0.0.7","port":8080,"serviceType":"DYNAMIC"}""");

    private static CreateRequest Create(string path, byte[] data, Acl acl) => new(path, data, [acl], (int)ZkCreateFlags.Persistent);

    [Fact]
    public async Task AJoinToken_CannotReadANodeClosedByAZooKeeperAcl_ButOperatorsAndOpenNodesAreRead()
    {
        var (cluster, zk) = await ZkNodes.StartAsync(open: false, tokens: [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)],
            joinTokens: [JoinTokenGrant.Parse("shop=" + ShopToken)], nodeOptions: o => o with { CuratorBasePath = "/curator" });
        await using var _ = cluster;
        await using var alice = await ZkTestClient.ConnectAsync(zk);
        Assert.Equal(0, await alice.AddAuthAsync("ops:" + AdminToken));
        Assert.Equal(0, await alice.AddAuthAsync("alice:secret"));
        foreach (var (path, data, acl) in new[]
        {
            ("/shared", Array.Empty<byte>(), Acl.OpenUnsafe[0]),
            ("/shared/private", "customer 4711"u8.ToArray(), AliceAll),
            ("/shared/open", "menu"u8.ToArray(), Acl.OpenUnsafe[0]),
            ("/curator", Array.Empty<byte>(), Acl.OpenUnsafe[0]),
            ("/curator/legacy", Array.Empty<byte>(), Acl.OpenUnsafe[0]),
            ("/curator/legacy/6f1c", CuratorInstance, AliceAll),
        })
        {
            Assert.Equal(0, (await alice.CallAsync(OpCode.Create, Create(path, data, acl))).Header.Err);
        }

        var node = cluster.Nodes[0]!;
        async Task<(HttpStatusCode Status, string Body)> GetAsync(string token, string pathAndQuery)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, cluster.Url(node, pathAndQuery));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await cluster.Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var refused = await GetAsync(ShopToken, "/v1/nodes/shared/private");
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("ZooKeeper ACL of /shared/private", refused.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("customer", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(ShopToken, "/v1/nodes/shared/private?raw=true")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(AdminToken, "/v1/nodes/shared/private")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(ShopToken, "/v1/nodes/shared/open")).Status);

        // Names need read rights on the parent only; the children's data needs them on every child.
        var names = await GetAsync(ShopToken, "/v1/nodes/shared?children=true");
        Assert.Equal(HttpStatusCode.OK, names.Status);
        Assert.Contains("private", names.Body, StringComparison.Ordinal);
        var withData = await GetAsync(ShopToken, "/v1/nodes/shared?children=true&data=true");
        Assert.Equal(HttpStatusCode.Forbidden, withData.Status);
        Assert.Contains("/shared/private", withData.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(AdminToken, "/v1/nodes/shared?children=true&data=true")).Status);

        // A watch record is encoded once for every reader: a closed node's goes without its data.
        var (privateStat, openStat) = node.Store.Read(s => (s.GetNode("/shared/private").Stat, s.GetNode("/shared/open").Stat));
        Assert.Null(node.Store.ValueAt("/shared/private", privateStat.ModifiedIndex));
        Assert.NotNull(node.Store.ValueAt("/shared/open", openStat.ModifiedIndex));

        // Watches: a join token does not hear of a closed node's changes, an operator does.
        var before = node.Store.AppliedIndex;
        Assert.Equal(0, (await alice.CallAsync(OpCode.SetData, new SetDataRequest("/shared/private", "customer 4712"u8.ToArray(), -1))).Header.Err);
        Assert.Equal(0, (await alice.CallAsync(OpCode.SetData, new SetDataRequest("/shared/open", "menu 2"u8.ToArray(), -1))).Header.Err);
        await Mesh.Testing.Eventually.TrueAsync(() => node.Store.Read(s => s.GetNode("/shared/open").Stat.Version == 1), "both changes applied");
        var heard = await GetAsync(ShopToken, $"/v1/watch/shared?recursive=true&after={before}");
        Assert.Contains("/shared/open", heard.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("/shared/private", heard.Body, StringComparison.Ordinal);
        Assert.Contains("/shared/private", (await GetAsync(AdminToken, $"/v1/watch/shared?recursive=true&after={before}")).Body, StringComparison.Ordinal);
        Assert.Equal(["/shared/open"], await StreamedPathsAsync(ShopToken));
        Assert.Equal(["/shared/private", "/shared/open"], await StreamedPathsAsync(AdminToken));

        async Task<List<string>> StreamedPathsAsync(string token)
        {
            // The history after `before` is caught up at once; read until the last change's record.
            using var request = new HttpRequestMessage(HttpMethod.Get, cluster.Url(node, $"/v1/watch-stream?prefix=/shared&data=true&after={before}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await cluster.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            var paths = new List<string>();
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                using var record = System.Text.Json.JsonDocument.Parse(line);
                if (record.RootElement.TryGetProperty("path", out var path))
                    paths.Add(path.GetString()!);
                if (paths.LastOrDefault() == "/shared/open")
                    return paths;
            }
            return paths;
        }

        // A Curator instance closed to everyone but alice is not served to sidecars as an endpoint.
        Assert.DoesNotContain("10.0.0.7", (await GetAsync(ShopToken, "/v1/services/legacy")).Body, StringComparison.Ordinal);
        Assert.Contains("10.0.0.7", (await GetAsync(AdminToken, "/v1/services/legacy")).Body, StringComparison.Ordinal);
    }
}
