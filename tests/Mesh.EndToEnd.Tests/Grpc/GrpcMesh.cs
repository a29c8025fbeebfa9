using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.EndToEnd.Tests.Mesh;
using Mesh.Sidecar.Hosting;

namespace Mesh.EndToEnd.Tests.Grpc;

/// <summary>
/// A real mesh for gRPC: a 3-node registry (the CA), the greeter gRPC app behind its sidecar and a
/// frontend sidecar, both strict mTLS in namespace shop. Shared by a test class: starting a mesh is
/// the slow part, and the tests only make calls.
/// </summary>
public sealed class GrpcMesh : IAsyncLifetime
{
    public const string FrontendId = "spiffe://mesh.local/ns/shop/sa/frontend";

    internal MeshFixture Mesh { get; private set; } = null!;

    internal GreeterApp Greeter { get; private set; } = null!;

    internal MeshSidecar Frontend { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Mesh = await MeshFixture.StartAsync();
        Greeter = await GreeterApp.StartAsync();
        // No protocol settings: gRPC gets HTTP/2 on every hop by itself.
        await Mesh.AddSidecarAsync("greeter", Greeter.Url, @namespace: "shop", extraYaml: MeshFixture.Tls());
        Frontend = await AddFrontendAsync();
    }

    /// <summary>A frontend sidecar with <paramref name="extraYaml"/> (routes, defaults), ready once a call gets through.</summary>
    internal async Task<MeshSidecar> AddFrontendAsync(string extraYaml = "")
    {
        var (_, frontend) = await Mesh.AddServiceAsync("frontend", @namespace: "shop", extraYaml: MeshFixture.Tls() + extraYaml);
        using var channel = ChannelThrough(frontend);
        var client = new Greeter.GreeterClient(channel);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            try
            {
                await client.SayHelloAsync(new HelloRequest { Name = "ready?" }, cancellationToken: timeout.Token);
                return frontend;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !timeout.IsCancellationRequested)
            {
                await Task.Delay(50, timeout.Token); // the frontend has not seen greeter's instance yet
            }
        }
    }

    /// <summary>
    /// A channel as the frontend app has it: it addresses the service by name (http://greeter) and
    /// its connections go to its sidecar's outbound listener, in h2c.
    /// </summary>
    internal static GrpcChannel ChannelThrough(MeshSidecar sidecar, string service = "greeter")
    {
        var outbound = sidecar.Host.OutboundUrl;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, outbound.Port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress($"http://{service}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    public async Task DisposeAsync()
    {
        await Mesh.DisposeAsync();
        await Greeter.DisposeAsync();
    }
}
