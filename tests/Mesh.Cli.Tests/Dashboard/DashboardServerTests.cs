using System.Net;
using System.Text.Json;
using Mesh.Dashboard;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Cli.Tests.Dashboard;

public sealed class DashboardServerTests
{
    private static async Task<(DashboardServer Server, RefusingPort Registry)> StartAsync()
    {
        var registry = new RefusingPort();
        var server = new DashboardServer($"http://127.0.0.1:{registry.Port}", new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance, interval: TimeSpan.FromMilliseconds(200));
        await server.StartAsync(CancellationToken.None);
        return (server, registry);
    }

    [Fact]
    public async Task Page_IsServedFromTheBinary_WithAPolicyThatAllowsThisOriginOnly()
    {
        var (server, registry) = await StartAsync();
        await using var _ = server;
        using var __ = registry;
        using var http = new HttpClient();

        foreach (var (path, type) in new[] { ("", "text/html"), ("app.js", "text/javascript"), ("style.css", "text/css") })
        {
            using var response = await http.GetAsync(new Uri(server.Url, path));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith(type, response.Content.Headers.ContentType!.ToString());
            var policy = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'self'", policy);
            Assert.Contains("connect-src 'self'", policy);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("http://", body.Replace("http://www.w3.org/2000/svg", ""));
            Assert.DoesNotContain("https://", body);
        }
    }

    [Fact]
    public async Task Snapshot_RegistryUnreachable_SaysSoInTheDocument()
    {
        var (server, registry) = await StartAsync();
        await using var _ = server;
        using var __ = registry;
        using var http = new HttpClient();

        JsonElement? document = null;
        for (var attempt = 0; attempt < 100 && document is null; attempt++)
        {
            using var response = await http.GetAsync(new Uri(server.Url, "/api/snapshot"));
            if (response.StatusCode == HttpStatusCode.OK)
                document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            else
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Contains("\"starting\"", await response.Content.ReadAsStringAsync());
                await Task.Delay(200);
            }
        }

        Assert.NotNull(document);
        Assert.False(string.IsNullOrEmpty(document.Value.GetProperty("registry").GetProperty("error").GetString()));
        Assert.Equal(0, document.Value.GetProperty("services").GetArrayLength());
    }

    [Theory]
    [InlineData("POST", "/api/snapshot", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("GET", "/api/scrape?target=http://169.254.169.254/", HttpStatusCode.NotFound, "not-found")]
    [InlineData("GET", "/ui/../../etc/passwd", HttpStatusCode.NotFound, "not-found")]
    [InlineData("GET", "/ui/DashboardServer.cs", HttpStatusCode.NotFound, "not-found")]
    public async Task Request_OutsideWhatThePageReads_IsAJsonErrorNamingTheProblem(string method, string path, HttpStatusCode status, string code)
    {
        var (server, registry) = await StartAsync();
        await using var _ = server;
        using var __ = registry;
        using var http = new HttpClient();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(server.Url, path)));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }
}
