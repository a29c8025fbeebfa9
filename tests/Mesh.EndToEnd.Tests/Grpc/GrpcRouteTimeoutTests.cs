using Grpc.Core;

namespace Mesh.EndToEnd.Tests.Grpc;

/// <summary>
/// The route timeout bounds a whole gRPC call, streams included; a streaming method gets a route
/// of its own with a longer `timeout:`. Errors the sidecar makes reach gRPC callers as gRPC statuses.
/// </summary>
public sealed class GrpcRouteTimeoutTests(GrpcMesh mesh) : IClassFixture<GrpcMesh>
{
    private const string ShortDefaultTimeout = """
        defaults:
          timeout: 500ms

        """;

    private const string StreamingRoute = """
        defaults:
          timeout: 500ms
        routes:
          - name: greeter-streams
            match: { hosts: [greeter], pathPrefix: /meshtest.Greeter/CountUp }
            service: greeter
            timeout: 30s
          - name: greeter-unary
            match: { hosts: [greeter], pathPrefix: /meshtest.Greeter/SayHello }
            service: greeter

        """;

    /// <summary>20 messages, 100 ms apart: four times the 500 ms timeout.</summary>
    private static readonly CountRequest LongStream = new() { To = 20, DelayMs = 100 };

    [Fact]
    public async Task UnaryCallPastTheRouteTimeout_EndsDeadlineExceeded_NamingTheRoute()
    {
        var frontend = await mesh.AddFrontendAsync(ShortDefaultTimeout);
        using var channel = GrpcMesh.ChannelThrough(frontend);
        var client = new Greeter.GreeterClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.SayHelloAsync(new HelloRequest { Name = "slow" }, deadline: DateTime.UtcNow.AddSeconds(15)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.StartsWith("mesh: route 'service:greeter' timed out after", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("timeout", error.Trailers.GetValue("x-mesh-error"));
    }

    [Fact]
    public async Task ServerStreamPastTheRouteTimeout_IsCutOff_AndTheCallerSeesAnError()
    {
        var frontend = await mesh.AddFrontendAsync(ShortDefaultTimeout);
        using var channel = GrpcMesh.ChannelThrough(frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.CountUp(LongStream, deadline: DateTime.UtcNow.AddSeconds(15));
        var values = new List<int>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var count in call.ResponseStream.ReadAllAsync())
                values.Add(count.Value);
        });

        // Headers and the first messages were already sent: the stream can only be reset (YARP
        // resets it with INTERNAL_ERROR, which gRPC reports as INTERNAL), never finish as if complete.
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.InRange(values.Count, 0, LongStream.To - 1);
    }

    [Fact]
    public async Task ServerStreamOnARouteWithItsOwnTimeout_RunsPastTheDefaultTimeout()
    {
        var frontend = await mesh.AddFrontendAsync(StreamingRoute);
        using var channel = GrpcMesh.ChannelThrough(frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.CountUp(LongStream, deadline: DateTime.UtcNow.AddSeconds(15));
        var values = new List<int>();
        await foreach (var count in call.ResponseStream.ReadAllAsync())
            values.Add(count.Value);

        Assert.Equal(Enumerable.Range(1, LongStream.To), values);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task MethodNoRouteMatches_EndsUnavailable_WithTheMeshReason()
    {
        var frontend = await mesh.AddFrontendAsync(StreamingRoute);
        using var channel = GrpcMesh.ChannelThrough(frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.Sum(deadline: DateTime.UtcNow.AddSeconds(15));
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("mesh: no route matches POST greeter/meshtest.Greeter/Sum", error.Status.Detail);
        Assert.Equal("no-route", error.Trailers.GetValue("x-mesh-error"));
    }
}
