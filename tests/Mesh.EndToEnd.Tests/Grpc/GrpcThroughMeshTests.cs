using Grpc.Core;

namespace Mesh.EndToEnd.Tests.Grpc;

/// <summary>
/// A real gRPC service called through two sidecars: frontend app → h2c → its sidecar → mTLS
/// (HTTP/2 by ALPN) → greeter's sidecar → h2c → greeter app. Every call shape, and what gRPC puts
/// outside the messages (status, message, headers, trailers, deadline), arrives as the peer sent it.
/// </summary>
public sealed class GrpcThroughMeshTests(GrpcMesh mesh) : IClassFixture<GrpcMesh>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Unary_ReachesTheAppOverHttp2_WithTheVerifiedCaller_AndHeadersAndTrailersComeBack()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.SayHelloAsync(new HelloRequest { Name = "mesh" }, deadline: Deadline());
        var reply = await call;

        Assert.Equal("hello mesh", reply.Message);
        Assert.Equal(GrpcMesh.FrontendId, reply.Caller);
        Assert.Equal("HTTP/2", reply.Protocol);
        Assert.Equal("v1", (await call.ResponseHeadersAsync).GetValue("x-greeter-version"));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal("greeter-1", call.GetTrailers().GetValue("x-served-by"));
    }

    [Fact]
    public async Task NotFound_ArrivesAsNotFound_WithItsMessageAndTrailers_AndIsNotRetried()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);
        var before = mesh.Greeter.Observations.NotFoundCalls;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.SayHelloAsync(new HelloRequest { Name = "missing" }, deadline: Deadline()));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("no greeting for 'missing'", error.Status.Detail);
        Assert.Equal("catalog-7", error.Trailers.GetValue("x-lookup-shard"));
        // The default route retries on 5xx, but a gRPC failure is a 200 with grpc-status, and a call with a body is never sent twice.
        Assert.Equal(before + 1, mesh.Greeter.Observations.NotFoundCalls);
    }

    [Fact]
    public async Task ServerStreaming_DeliversEveryMessageInOrder()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.CountUp(new CountRequest { To = 50, DelayMs = 5 }, deadline: Deadline());
        var values = new List<int>();
        await foreach (var count in call.ResponseStream.ReadAllAsync())
            values.Add(count.Value);

        Assert.Equal(Enumerable.Range(1, 50), values);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_TheServerReceivesEveryMessage()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.Sum(deadline: Deadline());
        for (var value = 1; value <= 100; value++)
            await call.RequestStream.WriteAsync(new Count { Value = value });
        await call.RequestStream.CompleteAsync();

        Assert.Equal(5050, (await call).Total);
    }

    [Fact]
    public async Task BidirectionalStreaming_EachMessageIsAnsweredBeforeTheNextIsSent()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);

        using var call = client.Chat(deadline: Deadline());
        var replies = new List<string>();
        foreach (var name in new[] { "a", "b", "c" })
        {
            // Nothing is buffered on the way: a reply arrives while the request stream is still open.
            await call.RequestStream.WriteAsync(new HelloRequest { Name = name });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            replies.Add(call.ResponseStream.Current.Message);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(["hi a", "hi b", "hi c"], replies);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_TravelsToTheServer_AndAnExpiredCallEndsDeadlineExceeded()
    {
        using var channel = GrpcMesh.ChannelThrough(mesh.Frontend);
        var client = new Greeter.GreeterClient(channel);
        var deadline = DateTime.UtcNow.AddMilliseconds(500);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.SayHelloAsync(new HelloRequest { Name = "slow" }, deadline: deadline));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        // The server got the caller's deadline (grpc-timeout) through both sidecars.
        var seen = mesh.Greeter.Observations.Deadline;
        Assert.NotNull(seen);
        Assert.NotEqual(DateTime.MaxValue, seen);
    }

    private static DateTime Deadline() => DateTime.UtcNow + Bound;
}
