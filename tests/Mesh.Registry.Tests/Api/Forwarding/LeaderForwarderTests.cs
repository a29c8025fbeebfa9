using System.Collections.Concurrent;
using System.Net;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Registry.Tests.Api.Forwarding;

/// <summary>
/// A follower (a Kestrel app whose every request is forwarded) in front of a scripted "leader"
/// (another Kestrel app), both on loopback port 0.
/// </summary>
public sealed class LeaderForwarderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ForwardAsync_BodilessWrite_IsSentWithAnEmptyBodyOnAConnectionOfItsOwn()
    {
        var seen = new ConcurrentQueue<(string? Length, string Connection, string ConnectionId)>();
        await using var leader = await TestApp.StartAsync(context =>
        {
            seen.Enqueue((context.Request.Headers.ContentLength?.ToString(), context.Request.Headers.Connection.ToString(), context.Connection.Id));
            return context.Response.WriteAsync("{\"index\":1}");
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        for (var i = 0; i < 2; i++)
        {
            using var response = await http.DeleteAsync(new Uri(follower.Url, "/v1/nodes/a"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var requests = seen.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, r => Assert.Equal("0", r.Length));
        Assert.All(requests, r => Assert.Equal("close", r.Connection, ignoreCase: true));
        Assert.NotEqual(requests[0].ConnectionId, requests[1].ConnectionId);
    }

    [Fact]
    public async Task ForwardAsync_Write_PassesTheApiHeadersAndBodyAndDropsTheRest()
    {
        Dictionary<string, string>? headers = null;
        string? body = null;
        await using var leader = await TestApp.StartAsync(async context =>
        {
            headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.StatusCode = 201;
            context.Response.Headers["X-Mesh-Index"] = "7";
            context.Response.Headers["X-Other"] = "no";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"index\":7}");
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(follower.Url, "/v1/nodes/a?parents=true")) { Content = new StringContent("data") };
        request.Headers.Add("Mesh-Client-Id", "6f1c3c1e-8c4e-4a55-9a1b-2a1f3f1f9e01");
        request.Headers.Add("Mesh-Request-Seq", "3");
        request.Headers.Add("Authorization", "Bearer t");
        request.Headers.Add("Cookie", "c=1");
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("{\"index\":7}", await response.Content.ReadAsStringAsync());
        Assert.Equal("7", response.Headers.GetValues("X-Mesh-Index").Single());
        Assert.False(response.Headers.Contains("X-Other"));
        Assert.Equal(leader.Url.ToString().TrimEnd('/'), response.Headers.GetValues(LeaderForwarder.LeaderHeader).Single());
        Assert.Equal("data", body);
        Assert.NotNull(headers);
        Assert.Equal("6f1c3c1e-8c4e-4a55-9a1b-2a1f3f1f9e01", headers["Mesh-Client-Id"]);
        Assert.Equal("3", headers["Mesh-Request-Seq"]);
        Assert.Equal("Bearer t", headers["Authorization"]);
        Assert.Equal("1", headers[LeaderForwarder.ForwardedHeader]);
        Assert.False(headers.ContainsKey("Cookie"));
        Assert.False(headers.ContainsKey("Expect"));
    }

    [Fact]
    public async Task ForwardAsync_LeaderRefusesTheConnection_IsUnavailableAndNotSent()
    {
        using var refusing = new RefusingPort();
        await using var follower = await FollowerAsync(new Uri($"http://127.0.0.1:{refusing.Port}"));

        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(follower.Url, "/v1/nodes/a"), new StringContent("x"));

        var error = await ApiAnswers.ErrorAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unavailable", error.Code);
        Assert.Contains("the request was not sent", error.Message, StringComparison.Ordinal);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    public async Task ForwardAsync_LeaderDropsTheConnectionAfterReadingAWrite_IsOutcomeUnknown(string method)
    {
        var received = 0;
        await using var leader = await TestApp.StartAsync(async context =>
        {
            await new StreamReader(context.Request.Body).ReadToEndAsync();
            Interlocked.Increment(ref received);
            context.Abort();
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(follower.Url, "/v1/nodes/a"));
        if (method == "POST")
            request.Content = new StringContent("x");
        using var response = await http.SendAsync(request);

        var error = await ApiAnswers.ErrorAsync(response, HttpStatusCode.GatewayTimeout);
        Assert.Equal("OutcomeUnknown", error.Code);
        Assert.Equal(1, Volatile.Read(ref received)); // never resent
    }

    [Fact]
    public async Task ForwardAsync_LeaderDropsTheConnectionOfARead_IsUnavailable()
    {
        await using var leader = await TestApp.StartAsync(context =>
        {
            context.Abort();
            return Task.CompletedTask;
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(follower.Url, "/v1/nodes/a"));

        Assert.Equal("Unavailable", (await ApiAnswers.ErrorAsync(response, HttpStatusCode.ServiceUnavailable)).Code);
    }

    [Theory]
    [InlineData(500, "Internal", HttpStatusCode.GatewayTimeout, "OutcomeUnknown")]
    [InlineData(502, "whatever", HttpStatusCode.GatewayTimeout, "OutcomeUnknown")]
    [InlineData(503, "Unavailable", HttpStatusCode.ServiceUnavailable, "Unavailable")]
    [InlineData(504, "OutcomeUnknown", HttpStatusCode.GatewayTimeout, "OutcomeUnknown")]
    [InlineData(504, "Timeout", HttpStatusCode.GatewayTimeout, "OutcomeUnknown")]
    public async Task ForwardAsync_LeaderAnswersAWriteWith5xx_OnlyItsOwnDefiniteAnswersPassUnchanged(int status, string code, HttpStatusCode expected, string expectedCode)
    {
        var leaderMessage = "from the leader";
        await using var leader = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync($"{{\"error\":\"{code}\",\"message\":\"{leaderMessage}\"}}");
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        using var response = await http.PutAsync(new Uri(follower.Url, "/v1/nodes/a"), new StringContent("x"));

        var error = await ApiAnswers.ErrorAsync(response, expected);
        Assert.Equal(expectedCode, error.Code);
        // A definite answer is the leader's own, body included.
        Assert.Equal(expectedCode == code, error.Message == leaderMessage);
    }

    [Fact]
    public async Task ForwardAsync_LeaderAnswersAReadWith500_PassesItOn()
    {
        await using var leader = await TestApp.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return context.Response.WriteAsync("{\"error\":\"Internal\",\"message\":\"m\"}");
        });
        await using var follower = await FollowerAsync(leader.Url);

        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(follower.Url, "/v1/nodes/a"));

        Assert.Equal("Internal", (await ApiAnswers.ErrorAsync(response, HttpStatusCode.InternalServerError)).Code);
    }


    /// <summary>A node that forwards everything to member 1 at <paramref name="leader"/>.</summary>
    private static async Task<Follower> FollowerAsync(Uri leader)
    {
        var services = new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider();
        var addresses = new MemberAddresses(
            [new ClusterMember(1, new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, leader.Port))],
            (_, _) => ValueTask.FromResult<IPEndPoint?>(null));
        var clients = new PeerClients();
        var forwarder = new LeaderForwarder(services.GetRequiredService<IHttpForwarder>(), addresses, clients, Timeout);
        var app = await TestApp.StartAsync(context => forwarder.ForwardAsync(context, 1));
        return new Follower(app, clients, services);
    }

    private sealed class Follower(TestApp app, PeerClients clients, ServiceProvider services) : IAsyncDisposable
    {
        public Uri Url => app.Url;

        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            clients.Dispose();
            await services.DisposeAsync();
        }
    }
}
