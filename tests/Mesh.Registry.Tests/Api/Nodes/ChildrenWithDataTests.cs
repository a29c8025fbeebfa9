using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Api.Nodes;

/// <summary>
/// <c>GET /v1/nodes/{path}?children=true&amp;data=true</c> (every child's data with the listing) and
/// <c>minIndex=N</c> (a read any node serves from its applied state once it has applied N).
/// </summary>
public sealed class ChildrenWithDataTests
{
    [Fact]
    public async Task ChildrenWithData_AtAFollowersIndex_AnswersEveryChildsDataInNameOrder()
    {
        await using var cluster = await TestCluster.StartAsync(3, o => o with { RequestTimeout = TimeSpan.FromSeconds(2) });
        var follower = cluster.Follower();
        await cluster.CreateOnLeaderAsync("/cfg/b", "two");
        var (_, index) = await cluster.CreateOnLeaderAsync("/cfg/a", "one");

        using var response = await cluster.Http.GetAsync(cluster.Url(follower, $"/v1/nodes/cfg?children=true&data=true&minIndex={index}"));
        var body = JsonSerializer.Deserialize(await cluster.JsonAsync(response, HttpStatusCode.OK), RegistryJson.Default.ChildrenResponse)!;

        Assert.Equal(["a", "b"], body.Children);
        Assert.Equal(["one", "two"], body.Data!.Select(d => Encoding.UTF8.GetString(d.Span)));
        Assert.True(long.Parse(response.Headers.GetValues("X-Mesh-Index").Single(), System.Globalization.CultureInfo.InvariantCulture) >= index);
        // Without data=true the answer is as before.
        using var plain = await cluster.Http.GetAsync(cluster.Url(follower, "/v1/nodes/cfg?children=true"));
        Assert.False((await cluster.JsonAsync(plain, HttpStatusCode.OK)).TryGetProperty("data", out _));
    }

    [Fact]
    public async Task ChildrenWithData_BadCombinations_AreClearErrors()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { RequestTimeout = TimeSpan.FromSeconds(1) });
        var node = cluster.Nodes[0]!;
        await cluster.CreateOnLeaderAsync("/cfg/a", "one");

        async Task<string> ErrorOf(string url, HttpStatusCode status) =>
            (await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(node, url)), status)).GetProperty("error").GetString()!;

        Assert.Equal("BadRequest", await ErrorOf("/v1/nodes/cfg/a?data=true", HttpStatusCode.BadRequest));
        Assert.Equal("BadRequest", await ErrorOf("/v1/nodes/cfg?children=true&minIndex=soon", HttpStatusCode.BadRequest));
        // The children of /mesh include the CA's state.
        Assert.Equal("Forbidden", await ErrorOf("/v1/nodes/mesh?children=true&data=true", HttpStatusCode.Forbidden));
        Assert.Equal("Forbidden", await ErrorOf("/v1/nodes/?children=true&data=true", HttpStatusCode.Forbidden));
        // An index this node never reaches within the request timeout.
        Assert.Equal("Unavailable", await ErrorOf("/v1/nodes/cfg?children=true&data=true&minIndex=999999", HttpStatusCode.ServiceUnavailable));
    }
}
