using System.Net;

namespace Mesh.Registry.Tests.Api;

/// <summary>The API's <c>wait</c> takes Mesh's one duration syntax, like sidecar.yaml and the <c>mesh</c> flags.</summary>
public sealed class QueryDurationTests
{
    [Fact]
    public async Task WatchWait_30s_IsAccepted()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);
        var (path, _) = await cluster.CreateOnLeaderAsync("/wait-30s", "1");

        // A change after index 0 exists, so the watch answers at once: the wait is only parsed.
        var body = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(cluster.Nodes[0]!, $"/v1/watch{path}?after=0&wait=30s")), HttpStatusCode.OK);

        Assert.True(body.GetProperty("index").GetInt64() > 0);
    }

    [Fact]
    public async Task WatchWait_OtherForms_AreABadRequestNamingTheSyntax()
    {
        await using var cluster = await TestCluster.StartAsync(size: 1);

        // hh:mm:ss and a bare number (seconds, before there was one syntax) are refused like nonsense.
        foreach (var wait in new[] { "00:00:30", "30", "soon" })
        {
            var body = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(cluster.Nodes[0]!, $"/v1/watch/a?after=0&wait={wait}")), HttpStatusCode.BadRequest);

            Assert.Equal("BadRequest", body.GetProperty("error").GetString());
            Assert.Equal($"wait '{wait}' is not a duration like 500ms, 30s or 2m", body.GetProperty("message").GetString());
        }
    }
}
