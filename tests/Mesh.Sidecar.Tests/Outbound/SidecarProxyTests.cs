using System.Net;
using System.Net.WebSockets;
using System.Text;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Outbound;

public sealed class SidecarProxyTests
{
    [Fact]
    public async Task Forward_Split90To10_ThroughRealProxy_FollowsSplitWeights()
    {
        await using var v1 = await TestApp.NamedAsync("v1");
        await using var v2 = await TestApp.NamedAsync("v2");
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("a", v1, "v1")}}
            {{TestSidecar.Endpoint("b", v2, "v2")}}
            routes:
              - name: canary
                match: { hosts: [catalog] }
                service: catalog
                split: [{ version: v1, weight: 90 }, { version: v2, weight: 10 }]
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { Random = new Random(7) });
        using var client = TestSidecar.Client(sidecar, "catalog");
        long count1 = 0, count2 = 0;

        for (var i = 0; i < 1000; i++)
        {
            if (await client.GetStringAsync("/") == "v1")
                count1++;
            else
                count2++;
        }

        Assert.True(ChiSquare.Statistic([count1, count2], [90, 10]) < ChiSquare.Critical(1), $"v1={count1} v2={count2}");
    }

    [Fact]
    public async Task Forward_EndpointWeights1To3_ThroughRealProxy_FollowsWeights()
    {
        await using var a = await TestApp.NamedAsync("a");
        await using var b = await TestApp.NamedAsync("b");
        var config = TestSidecar.Config($"""
            endpoints:
              catalog:
            {TestSidecar.Endpoint("a", a, weight: 1)}
            {TestSidecar.Endpoint("b", b, weight: 3)}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { Random = new Random(11) });
        using var client = TestSidecar.Client(sidecar, "catalog");
        long countA = 0, countB = 0;

        for (var i = 0; i < 800; i++)
        {
            if (await client.GetStringAsync("/") == "a")
                countA++;
            else
                countB++;
        }

        Assert.True(ChiSquare.Statistic([countA, countB], [1, 3]) < ChiSquare.Critical(1), $"a={countA} b={countB}");
    }

    [Fact]
    public async Task Forward_FailingEndpoints_AreEjectedAndRetriesKeepEveryGetSucceeding()
    {
        await using var good = await TestApp.NamedAsync("good");
        await using var failing = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        using var refusing = new RefusingPort();
        var closedPort = refusing.Port;
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("good", good)}}
            {{TestSidecar.Endpoint("failing", failing)}}
                - { id: refused, address: 127.0.0.1, port: {{closedPort}} }
            defaults:
              retries: { attempts: 3, retryOn: [connect-failure, 503], baseDelay: 0ms }
              outlierDetection: { consecutiveFailures: 2, baseEjectionTime: 30s, maxEjectionPercent: 100 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "catalog");

        for (var i = 0; i < 300; i++)
        {
            using var response = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("good", await response.Content.ReadAsStringAsync());
        }

        var catalog = (await ConfigDump.ReadAsync(sidecar.AdminUrl)).Cluster("catalog");
        Assert.Equal("healthy", catalog.Endpoint("good").Health);
        Assert.Equal("ejected", catalog.Endpoint("failing").Health);
        Assert.Equal("ejected", catalog.Endpoint("refused").Health);
    }

    [Fact]
    public async Task Forward_PostToFailingEndpoint_IsNotRetried()
    {
        var calls = 0;
        await using var failing = await TestApp.StartAsync(context =>
        {
            Interlocked.Increment(ref calls);
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("failing", failing)}}
            defaults:
              retries: { attempts: 3, retryOn: [503] }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "catalog");

        using var response = await client.PostAsync("/", new StringContent("body"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.False(response.Headers.Contains("x-mesh-error"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Forward_SlowEndpoint_RouteTimeoutAnswers504()
    {
        await using var slow = await TestApp.StartAsync(async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
            await context.Response.WriteAsync("late");
        });
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("slow", slow)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                timeout: 200ms
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = TestSidecar.Client(sidecar, "catalog");

        using var response = await client.GetAsync("/");

        // A 504 marked "timeout" is the route's 200 ms at work: the slow upstream would have answered 200.
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", Assert.Single(response.Headers.GetValues("x-mesh-error")));
    }

    [Theory]
    [InlineData("nobody", "unknown-service")]
    [InlineData("catalog", "no-route")]
    [InlineData("empty", "no-healthy-endpoints")]
    public async Task Forward_NothingToSendTo_Answers503WithReason(string host, string reason)
    {
        await using var app = await TestApp.NamedAsync("x");
        var config = TestSidecar.Config($$"""
            endpoints:
              empty:
            {{TestSidecar.Endpoint("only", app)}}
            routes:
              - name: catalog-api
                match: { hosts: [catalog], pathPrefix: /api }
                service: catalog
            """);
        var source = new StaticEndpointSource(config.Endpoints);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { EndpointSource = source });
        source.Publish(new ServiceEndpoints("catalog", 2, [new MeshEndpoint { Id = "c", Address = "127.0.0.1", Port = app.Port }]));
        // "empty" had endpoints once and has none now: known but nothing healthy.
        source.Publish(new ServiceEndpoints("empty", 2, []));
        await Task.Delay(100);
        using var client = TestSidecar.Client(sidecar, host);

        using var response = await client.GetAsync("/other");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(reason, Assert.Single(response.Headers.GetValues("x-mesh-error")));
        Assert.StartsWith("mesh: ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forward_RoutesHotSwappedUnderLoad_NoRequestFails()
    {
        await using var v1 = await TestApp.NamedAsync("v1");
        await using var v2 = await TestApp.NamedAsync("v2");
        var config = TestSidecar.Config($"""
            endpoints:
              catalog:
            {TestSidecar.Endpoint("a", v1, "v1")}
            {TestSidecar.Endpoint("b", v2, "v2")}
            """);
        RouteConfig Route(string version) => new()
        {
            Name = "catalog",
            Match = new RouteMatchConfig { Hosts = ["catalog"] },
            Service = "catalog",
            Split = [new SplitConfig { Service = "catalog", Version = version, Weight = 1 }],
        };
        var routes = new StaticRouteSource([Route("v1")]);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { RouteSource = routes });
        using var client = TestSidecar.Client(sidecar, "catalog");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var failures = 0;
        var total = 0;

        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.GetAsync("/");
                Interlocked.Increment(ref total);
                if (response.StatusCode != HttpStatusCode.OK)
                    Interlocked.Increment(ref failures);
                else
                    seen.AddOrUpdate(await response.Content.ReadAsStringAsync(), 1, (_, n) => n + 1);
            }
        })).ToList();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            routes.Publish([Route(i % 2 == 0 ? "v2" : "v1")]);
            await Task.Delay(20);
        }
        await Task.WhenAll(load);

        Assert.Equal(0, failures);
        Assert.True(total > 100, $"only {total} requests");
        Assert.Contains("v1", seen.Keys);
        Assert.Contains("v2", seen.Keys);
    }

    [Fact]
    public async Task Stop_Draining_ServesInFlightAndNewRequests()
    {
        await using var slow = await TestApp.StartAsync(async context =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(800));
            await context.Response.WriteAsync("done");
        });
        var config = TestSidecar.Config($"""
            drainTime: 600ms
            endpoints:
              catalog:
            {TestSidecar.Endpoint("slow", slow)}
            """);
        var drained = new TaskCompletionSource();
        var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions
        {
            OnDraining = _ =>
            {
                drained.TrySetResult();
                return Task.CompletedTask;
            },
        });
        using var client = TestSidecar.Client(sidecar, "catalog");
        using var admin = new HttpClient { BaseAddress = sidecar.AdminUrl };
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);

        var inFlight = client.GetStringAsync("/");
        await Task.Delay(100);
        var stopping = sidecar.StopAsync(CancellationToken.None);
        await drained.Task;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/readyz")).StatusCode);
        var duringDrain = client.GetStringAsync("/");

        Assert.Equal("done", await inFlight);
        Assert.Equal("done", await duringDrain);
        await stopping;
        await sidecar.DisposeAsync();
    }

    [Fact]
    public async Task Forward_GrpcLikeHttp2_PassesThroughWithTrailers()
    {
        await using var upstream = await TestApp.StartAsync(async context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.WriteAsync(context.Request.Protocol);
        }, h2c: true);
        var config = SidecarConfigLoader.Parse($$"""
            service: { name: test }
            listeners:
              outbound: { address: "127.0.0.1:0", protocols: h2c }
              inbound: 127.0.0.1:0
              admin: 127.0.0.1:0
            upstream: { protocol: http2 }
            endpoints:
              greeter:
            {{TestSidecar.Endpoint("g", upstream)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sidecar.OutboundUrl, "/greet.Greeter/SayHello"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Headers.Host = "greeter";
        request.Content.Headers.ContentType = new("application/grpc");

        using var response = await client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, response + await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("HTTP/2", await response.Content.ReadAsStringAsync());
        Assert.Equal("0", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
    }

    [Fact]
    public async Task Forward_WebSocket_PassesThrough()
    {
        await using var upstream = await TestApp.StartAsync(async context =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[64];
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            await socket.SendAsync(buffer.AsMemory(0, received.Count), WebSocketMessageType.Text, true, CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        });
        var config = TestSidecar.Config($"""
            endpoints:
              chat:
            {TestSidecar.Endpoint("c", upstream)}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Host", "chat");

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{sidecar.OutboundUrl.Port}/ws"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[64];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);

        Assert.Equal("hello", Encoding.UTF8.GetString(buffer, 0, result.Count));
    }

    [Fact]
    public async Task Inbound_ForwardsToLocalAppWithCallersHost()
    {
        await using var app = await TestApp.StartAsync(context => context.Response.WriteAsync("app saw " + context.Request.Host));
        var config = TestSidecar.Config($$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var client = new HttpClient { BaseAddress = sidecar.InboundUrl };
        client.DefaultRequestHeaders.Host = "catalog";

        Assert.Equal("app saw catalog", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task Admin_ConfigDump_ShowsRoutesClustersAndEndpoints()
    {
        await using var app = await TestApp.NamedAsync("x");
        var config = TestSidecar.Config($$"""
            endpoints:
              catalog:
            {{TestSidecar.Endpoint("c1", app, "v1", 7)}}
            routes:
              - name: catalog
                match: { hosts: [catalog] }
                service: catalog
                rateLimit: { requestsPerSecond: 5 }
            """);
        await using var sidecar = await TestSidecar.StartAsync(config);
        using var admin = new HttpClient { BaseAddress = sidecar.AdminUrl };

        Assert.Equal("ok\n", await admin.GetStringAsync("/healthz"));
        var dump = await ConfigDump.ReadAsync(sidecar.AdminUrl);

        var route = dump.Routes[0];
        Assert.Equal("catalog", route.Name);
        Assert.Equal("WeightedRandom", route.LoadBalancing);
        Assert.True(route.RateLimit!.Value.GetProperty("enforced").GetBoolean());
        var endpoint = dump.Clusters[0].Endpoints[0];
        Assert.Equal(7, endpoint.Weight);
        Assert.Equal("healthy", endpoint.Health);
        // Every part reads into the tests' typed ConfigDump.
        Assert.True(dump.Ready);
        Assert.False(dump.Draining);
        Assert.Equal("off", dump.Tls.Mode);
        Assert.Equal(["catalog"], route.Match.Hosts);
        Assert.Equal("catalog", Assert.Single(route.Backends).Service);
        Assert.True(dump.Cluster("catalog").Known);
        Assert.Equal("v1", dump.Cluster("catalog").Endpoint("c1").Version);
        Assert.Empty(dump.RouteErrors);
    }

    [Fact]
    public async Task Admin_Readyz_WaitsForRegistrationWhenRequired()
    {
        await using var sidecar = await TestSidecar.StartAsync(TestSidecar.Config(""), new SidecarHostOptions { RequireRegistration = true });
        using var admin = new HttpClient { BaseAddress = sidecar.AdminUrl };

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/readyz")).StatusCode);
        sidecar.MarkRegistered();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
    }
}
