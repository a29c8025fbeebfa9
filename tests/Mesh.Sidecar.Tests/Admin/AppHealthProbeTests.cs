using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Admin;

/// <summary>
/// /app-health/{name} on a real sidecar's admin listener, calling a real app on a free port: the
/// stand-in for the app's own kubelet probes that `mesh inject` rewrites to the admin port.
/// </summary>
public sealed class AppHealthProbeTests
{
    [Fact]
    public async Task ConfiguredProbe_AppAnswers200_Is200_AndTheAppSeesTheConfiguredPath()
    {
        var seen = new List<string>();
        await using var app = await TestApp.StartAsync(context =>
        {
            lock (seen)
                seen.Add(context.Request.Method + " " + context.Request.Path + context.Request.QueryString);
            return context.Response.WriteAsync("fine");
        });
        await using var sidecar = await StartAsync($"web-readiness: {{ port: {app.Port}, path: /healthz?full=1 }}");
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-readiness");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("app answered 200\n", await response.Content.ReadAsStringAsync());
        lock (seen)
            Assert.Equal(["GET /healthz?full=1"], seen);
    }

    [Fact]
    public async Task ConfiguredProbe_AppAnswersRedirect_PassesTheStatusThroughWithoutLocation()
    {
        await using var app = await TestApp.StartAsync(context =>
        {
            context.Response.Redirect("/elsewhere");
            return Task.CompletedTask;
        });
        await using var sidecar = await StartAsync($"web-liveness: {{ port: {app.Port}, path: /live }}");
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-liveness");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task ConfiguredProbe_AppAnswers500_Is503WithAReason()
    {
        await using var app = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        });
        await using var sidecar = await StartAsync($"web-readiness: {{ port: {app.Port}, path: /healthz }}");
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-readiness");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("app answered 500 at /healthz\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ConfiguredProbe_AppDown_Is503WithAReason()
    {
        int port;
        await using (var gone = await TestApp.StartAsync(_ => Task.CompletedTask))
            port = gone.Port;
        await using var sidecar = await StartAsync($"web-readiness: {{ port: {port}, path: /healthz }}");
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-readiness");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith($"app unreachable at port {port}: ", body, StringComparison.Ordinal);
        Assert.Single(body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ConfiguredProbe_AppNeverAnswers_Is503AfterTheProbeTimeout()
    {
        await using var app = await TestApp.StartAsync(async context =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        });
        await using var sidecar = await StartAsync($"web-startup: {{ port: {app.Port}, path: /started, timeout: 200ms }}");
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-startup");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal($"app did not answer within 200ms at port {app.Port}\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnconfiguredName_Is404_AndTheAppIsNeverCalled()
    {
        var calls = 0;
        await using var app = await TestApp.StartAsync(context =>
        {
            Interlocked.Increment(ref calls);
            return context.Response.WriteAsync("fine");
        });
        await using var sidecar = await StartAsync($"web-readiness: {{ port: {app.Port}, path: /healthz }}");
        using var client = AdminClient(sidecar);

        foreach (var path in new[] { "/app-health/other", "/app-health/", "/app-health/web-readiness%2F..%2Fhealthz", "/app-health/web-readiness/x" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        }
        Assert.Equal(0, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task NoAppProbesSection_EveryAppHealthNameIs404()
    {
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config(""));
        using var client = AdminClient(sidecar);

        using var response = await client.GetAsync("/app-health/web-readiness");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static Task<SidecarHost> StartAsync(string probe) =>
        TestSidecar.StartAsync(TestSidecar.Config("appProbes:\n  " + probe + "\n"));

    private static HttpClient AdminClient(SidecarHost sidecar) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = sidecar.AdminUrl, Timeout = TimeSpan.FromSeconds(30) };
}
