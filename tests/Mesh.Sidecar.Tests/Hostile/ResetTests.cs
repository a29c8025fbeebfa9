// Connections that end badly on either side: a client that resets mid-request, an upstream that
// resets before or after its response head, and an upstream that never answers at all.
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class ResetTests
{
    // One attempt, and outlier detection patient enough that the upstream stays in rotation.
    private const string NoRetries = """
        defaults:
          timeout: 1s
          retries: { attempts: 1 }
          outlierDetection: { consecutiveFailures: 1000 }
        """;

    [Theory]
    [InlineData("GET /hang HTTP/1.1\r\nHost: catalog\r\n\r\n")]
    [InlineData("POST /hang HTTP/1.1\r\nHost: catalog\r\nContent-Length: 1000\r\n\r\nonly part of the body")]
    public async Task ClientResetsMidRequest_TheUpstreamRequestIsCanceled_AndOthersAreStillServed(string request)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await HostileRig.StartAsync((context, log) => HangOrServeAsync(context, log, started, canceled));
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync(request);
        await started.Task.WaitAsync(RawHttpConnection.Patience);
        connection.Reset();

        await canceled.Task.WaitAsync(RawHttpConnection.Patience);
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task UpstreamResetsBeforeItsResponseHead_Gets502WithMeshError()
    {
        await using var rig = await HostileRig.StartAsync(static (context, log) =>
        {
            if (context.Request.Path == "/reset")
            {
                context.Abort();
                return Task.CompletedTask;
            }
            return context.Response.WriteAsync("ok");
        }, NoRetries);
        using var client = rig.Client();

        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("/reset");

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("upstream-unavailable", Assert.Single(response.Headers.GetValues("x-mesh-error")));
        }
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task UpstreamResetsBeforeItsResponseHead_OnARouteRetrying502_IsRetried_AndTheClientGetsTheAnswer()
    {
        var resets = 0;
        await using var rig = await HostileRig.StartAsync((context, log) =>
        {
            // Every other request dies before its head, as on an upstream that crashes mid-request.
            if (context.Request.Path == "/flaky" && Interlocked.Increment(ref resets) % 2 == 1)
            {
                context.Abort();
                return Task.CompletedTask;
            }
            return context.Response.WriteAsync("ok");
        }, """
            defaults:
              timeout: 5s
              retries: { attempts: 2, retryOn: [502] }
              outlierDetection: { consecutiveFailures: 1000 }
            """);
        using var client = rig.Client();

        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("/flaky");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(10, Volatile.Read(ref resets));
    }

    [Fact]
    public async Task UpstreamResetsAfterItsResponseHead_TheClientSeesAnAbortedResponse_AndOthersAreStillServed()
    {
        var clientHasFirstPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await HostileRig.StartAsync(async (context, log) =>
        {
            if (context.Request.Path == "/half")
            {
                context.Response.ContentLength = 1_000_000;
                await context.Response.WriteAsync("the first part");
                await context.Response.Body.FlushAsync();
                // Reset only once the head and first bytes are through the sidecar: a reset that
                // overtakes unread bytes would make this the before-the-head case instead.
                await clientHasFirstPart.Task.WaitAsync(RawHttpConnection.Patience);
                context.Abort();
                return;
            }
            await context.Response.WriteAsync("ok");
        }, NoRetries);
        using var client = rig.Client();

        using var response = await client.GetAsync("/half", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        Assert.True(await body.ReadAsync(new byte[64]) > 0);
        clientHasFirstPart.SetResult();

        // The head was already sent, so the only honest signal left is a broken body.
        var error = await Record.ExceptionAsync(() => body.CopyToAsync(Stream.Null));
        Assert.True(error is HttpRequestException or IOException, $"got {error?.GetType().Name ?? "a complete body"}");
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task UpstreamThatNeverAnswers_Gets504FromTheRouteTimeout_AndTheUpstreamRequestIsCanceled()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var canceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await HostileRig.StartAsync((context, log) => HangOrServeAsync(context, log, started, canceled), NoRetries);
        using var client = rig.Client();

        // The client's own 30 s timeout is far beyond the route's 1 s: a 504 here is the sidecar's.
        using var response = await client.GetAsync("/hang");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", Assert.Single(response.Headers.GetValues("x-mesh-error")));
        await canceled.Task.WaitAsync(RawHttpConnection.Patience);
        await rig.AssertStillServesAsync();
    }

    /// <summary>`/hang` waits until its request is aborted (reporting both moments); anything else is served.</summary>
    private static async Task HangOrServeAsync(HttpContext context, UpstreamLog log, TaskCompletionSource started, TaskCompletionSource canceled)
    {
        if (context.Request.Path != "/hang")
        {
            await log.ReadBodyAsync(context);
            await context.Response.WriteAsync("ok");
            return;
        }
        started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            canceled.TrySetResult();
        }
    }
}
