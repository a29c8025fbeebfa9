using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Sidecar.Tests.Forwarder;

/// <summary>
/// The request target the app receives is the one the caller sent, on both hops, the first time
/// a path is seen and when its Uri is reused (DestinationUris), with or without a query.
/// </summary>
public sealed class RequestTargetTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Targets => new()
    {
        "/",
        "/orders/42",
        "/a%20b/%C3%BC",
        "/search?q=1&r=%20&q=2",
        "/orders/42?",
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Forward_Outbound_AppSeesTheTargetTheCallerSent(string target)
    {
        await using var app = await EchoTargetAppAsync();
        await using var sidecar = await StartOutboundAsync(app);
        using var client = TestSidecar.Client(sidecar, "catalog");

        for (var i = 0; i < 3; i++)
            Assert.Equal(target, await client.GetStringAsync(target).WaitAsync(Bound));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Forward_Inbound_AppSeesTheTargetTheCallerSent(string target)
    {
        await using var app = await EchoTargetAppAsync();
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config($$"""
            app: { address: "http://127.0.0.1:{{app.Port}}" }
            """));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = sidecar.InboundUrl, Timeout = TimeSpan.FromSeconds(30) };

        for (var i = 0; i < 3; i++)
            Assert.Equal(target, await client.GetStringAsync(target).WaitAsync(Bound));
    }

    [Theory]
    [InlineData("/a%2Fb")]
    [InlineData("/a%252Fb")]
    [InlineData("/~user/(x)/[y]/'z'")]
    public async Task Forward_ReusedUri_SendsThePathTheForwarderWouldBuild(string path)
    {
        // A request with a query gets its Uri from YARP's forwarder as before; the same path
        // without one gets the kept Uri. (YARP sends an encoded slash as %252F: its issue 1419.)
        await using var app = await EchoTargetAppAsync();
        await using var sidecar = await StartOutboundAsync(app);
        using var client = TestSidecar.Client(sidecar, "catalog");

        var byForwarder = await client.GetStringAsync(path + "?z").WaitAsync(Bound);
        for (var i = 0; i < 2; i++)
            Assert.Equal(byForwarder, await client.GetStringAsync(path).WaitAsync(Bound) + "?z");
    }

    private static Task<SidecarHost> StartOutboundAsync(TestApp app) =>
        TestSidecar.StartAsync(TestSidecar.Config($"""
            endpoints:
              catalog:
            {TestSidecar.Endpoint("a", app)}
            """));

    private static Task<TestApp> EchoTargetAppAsync() =>
        TestApp.StartAsync(context => context.Response.WriteAsync(context.Features.Get<IHttpRequestFeature>()!.RawTarget));
}
