using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Outbound;

/// <summary>
/// The outbound forwarder on a scripted clock: the route timeout and the backoff between attempts
/// happen when the clock says so, not when a wall-clock timer fires.
/// </summary>
public sealed class OutboundClockTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Forward_ClockPassesRouteTimeout_Answers504()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var stuck = await TestApp.StartAsync(async context =>
        {
            arrived.TrySetResult();
            // Answers only once the sidecar gives up on it.
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("stuck", stuck)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                timeout: 30s
                retries: { attempts: 1 }
            """);
        var time = new FakeTimeProvider();
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = time });
        using var client = TestSidecar.Client(sidecar, "catalog");

        var call = client.GetAsync("/");
        await arrived.Task.WaitAsync(Bound);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        using var response = await call.WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", Assert.Single(response.Headers.GetValues("x-mesh-error")));
    }

    [Fact]
    public async Task Forward_RetriedStatus_WaitsForTheClockThenAnswersFromTheNextAttempt()
    {
        var calls = 0;
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var flaky = await TestApp.StartAsync(context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                first.TrySetResult();
                return Task.CompletedTask;
            }
            return context.Response.WriteAsync("second");
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("flaky", flaky)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                retries: { attempts: 2, retryOn: [503], baseDelay: 500ms }
            """);
        var time = new FakeTimeProvider();
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = time });
        using var client = TestSidecar.Client(sidecar, "catalog");

        var call = client.GetAsync("/");
        await first.Task.WaitAsync(Bound);
        // The 503 is withheld: the caller waits for the backoff, which waits for the clock. The
        // clock moves in small steps (the backoff may not have started yet), far below the route timeout.
        Assert.False(call.IsCompleted);
        for (var step = 0; step < 50 && !call.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(call, Task.Delay(50));
        }
        using var response = await call.WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("second", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Forward_EveryAttemptRetried_MakesTheRouteAttemptsThenAnswersTheLast()
    {
        // The first attempt runs outside Polly and the pipeline replays its answer: Polly must
        // still count it, so a route of 3 attempts makes 3 calls, not 4, with a backoff before each retry.
        var calls = 0;
        await using var failing = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync($"attempt {Interlocked.Increment(ref calls)}");
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("failing", failing)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                retries: { attempts: 3, retryOn: [503], baseDelay: 500ms }
            defaults: { outlierDetection: { consecutiveFailures: 0 } }
            """);
        var time = new FakeTimeProvider();
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { TimeProvider = time });
        using var client = TestSidecar.Client(sidecar, "catalog");

        var call = client.GetAsync("/");
        for (var step = 0; step < 100 && !call.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(call, Task.Delay(50));
        }
        using var response = await call.WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("attempt 3", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, Volatile.Read(ref calls));
    }
}
