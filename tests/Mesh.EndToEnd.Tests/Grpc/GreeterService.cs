using Grpc.Core;
using Mesh.Sidecar.Security;

namespace Mesh.EndToEnd.Tests.Grpc;

/// <summary>The server side of greeter.proto, as a real app behind its sidecar would run it.</summary>
internal sealed class GreeterService(GreeterObservations observations) : Greeter.GreeterBase
{
    public override async Task<HelloReply> SayHello(HelloRequest request, ServerCallContext context)
    {
        observations.Deadline = context.Deadline;
        switch (request.Name)
        {
            case "missing":
                Interlocked.Increment(ref observations.NotFoundCalls);
                // Status and custom trailers must reach the caller as the app wrote them.
                throw new RpcException(new Status(StatusCode.NotFound, "no greeting for 'missing'"), new Metadata { { "x-lookup-shard", "catalog-7" } });
            case "slow":
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                break;
        }
        await context.WriteResponseHeadersAsync(new Metadata { { "x-greeter-version", "v1" } });
        context.ResponseTrailers.Add("x-served-by", "greeter-1");
        return Reply("hello " + request.Name, context);
    }

    public override async Task CountUp(CountRequest request, IServerStreamWriter<Count> responseStream, ServerCallContext context)
    {
        for (var value = 1; value <= request.To; value++)
        {
            if (request.DelayMs > 0)
                await Task.Delay(request.DelayMs, context.CancellationToken);
            await responseStream.WriteAsync(new Count { Value = value }, context.CancellationToken);
        }
    }

    public override async Task<SumReply> Sum(IAsyncStreamReader<Count> requestStream, ServerCallContext context)
    {
        var total = 0;
        await foreach (var count in requestStream.ReadAllAsync(context.CancellationToken))
            total += count.Value;
        return new SumReply { Total = total };
    }

    public override async Task Chat(IAsyncStreamReader<HelloRequest> requestStream, IServerStreamWriter<HelloReply> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            await responseStream.WriteAsync(Reply("hi " + request.Name, context), context.CancellationToken);
    }

    private static HelloReply Reply(string message, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        return new HelloReply
        {
            Message = message,
            Caller = http.Request.Headers[SidecarSecurity.CallerHeader].ToString(),
            Protocol = http.Request.Protocol,
        };
    }
}

/// <summary>What the server saw of the last call, for assertions the client cannot make.</summary>
internal sealed class GreeterObservations
{
    public DateTime? Deadline { get; set; }

    /// <summary>Calls answered NOT_FOUND (a retry would show up here as a second one).</summary>
    public int NotFoundCalls;
}
