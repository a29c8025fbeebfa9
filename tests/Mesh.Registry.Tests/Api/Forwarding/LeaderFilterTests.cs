using System.Net;
using Mesh.Registry.Api;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Registry.Tests.Api.Forwarding;

/// <summary>
/// <see cref="LeaderFilter"/> in front of endpoints of a real Kestrel app, on a scripted
/// consensus and a fake clock; member 2's client address is another app that plays the leader.
/// </summary>
public sealed class LeaderFilterTests : IAsyncLifetime
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly ScriptedConsensus _consensus = new();
    private readonly FakeTimeProvider _time = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider();
    private readonly PeerClients _clients = new();
    private readonly HttpClient _http = new();
    private TestApp _leader = null!;
    private TestApp _node = null!;
    private int _served;

    public async Task InitializeAsync()
    {
        _leader = await TestApp.StartAsync(context => context.Response.WriteAsync("from the leader"));
        var addresses = new MemberAddresses(
            [
                new ClusterMember(1, new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 7001)),
                new ClusterMember(2, new IPEndPoint(IPAddress.Loopback, 2), new IPEndPoint(IPAddress.Loopback, _leader.Port)),
            ],
            (_, _) => ValueTask.FromResult<IPEndPoint?>(null));
        var forwarder = new LeaderForwarder(_services.GetRequiredService<IHttpForwarder>(), addresses, _clients, RequestTimeout);
        var writes = LeaderFilter.Writes(_consensus, addresses, forwarder, metrics: null, RequestTimeout, _time);
        _node = await TestApp.StartAppAsync(app =>
        {
            app.Use(new ApiErrorMapping(NullLogger.Instance).InvokeAsync);
            app.MapPost("/write", Serve).AddEndpointFilter(writes);
            app.MapGet("/read", Serve).AddEndpointFilter(writes.ForReads());
            app.MapGet("/watch", Serve).AddEndpointFilter(writes.ForReads(context => context.Request.Query.ContainsKey("after")));
        });
    }

    private Task Serve(HttpContext context)
    {
        Interlocked.Increment(ref _served);
        return context.Response.WriteAsync("served here");
    }

    [Fact]
    public async Task Write_OnTheLeader_IsServedHereAndNamesThisNode()
    {
        _consensus.CurrentRole = ConsensusRole.Leader;
        _consensus.LeaderId = 1;

        using var response = await _http.PostAsync(Url("/write"), null);

        Assert.Equal("served here", await response.Content.ReadAsStringAsync());
        Assert.Equal("http://127.0.0.1:7001", response.Headers.GetValues(LeaderForwarder.LeaderHeader).Single());
    }

    [Fact]
    public async Task Write_OnAFollower_IsForwardedToTheLeader()
    {
        _consensus.LeaderId = 2;

        using var response = await _http.PostAsync(Url("/write"), new StringContent("x"));

        Assert.Equal("from the leader", await response.Content.ReadAsStringAsync());
        Assert.Equal(_leader.Url.ToString().TrimEnd('/'), response.Headers.GetValues(LeaderForwarder.LeaderHeader).Single());
        Assert.Equal(0, Volatile.Read(ref _served));
    }

    [Fact]
    public async Task Write_ForwardedToANodeThatNoLongerLeads_IsUnavailableAndNotForwardedAgain()
    {
        _consensus.LeaderId = 2;
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/write"));
        request.Headers.Add(LeaderForwarder.ForwardedHeader, "1");

        using var response = await _http.SendAsync(request);

        var (code, message) = await ApiAnswers.ErrorAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unavailable", code);
        Assert.Equal("this node is no longer the leader; retry", message);
    }

    [Fact]
    public async Task Write_NoLeaderWithinTheWait_IsUnavailable()
    {
        var answer = _http.PostAsync(Url("/write"), null);

        await AdvanceUntilAsync(answer);

        using var response = await answer;
        var (code, message) = await ApiAnswers.ErrorAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unavailable", code);
        Assert.Equal("there is no leader right now; retry", message);
        Assert.Equal(0, Volatile.Read(ref _served));
    }

    [Fact]
    public async Task Write_LeaderElectedWhileWaiting_IsForwardedToIt()
    {
        var answer = _http.PostAsync(Url("/write"), null);
        _time.Advance(TimeSpan.FromSeconds(1)); // a timer may or may not be waiting yet: either way well inside the wait
        _consensus.LeaderId = 2;

        await AdvanceUntilAsync(answer);

        using var response = await answer;
        Assert.Equal("from the leader", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Read_OnTheLeader_WaitsForTheReadBarrier()
    {
        _consensus.CurrentRole = ConsensusRole.Leader;
        _consensus.LeaderId = 1;
        var barrier = new TaskCompletionSource();
        _consensus.Barrier = barrier.Task;

        var answer = _http.GetAsync(Url("/read"));
        while (Volatile.Read(ref _consensus.Barriers) == 0)
            await Task.Delay(10);
        Assert.False(answer.IsCompleted);
        barrier.SetResult();

        using var response = await answer;
        Assert.Equal("served here", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Read_ReadBarrierNotDoneInTime_IsTimeout()
    {
        _consensus.CurrentRole = ConsensusRole.Leader;
        _consensus.LeaderId = 1;
        _consensus.Barrier = new TaskCompletionSource().Task;

        var answer = _http.GetAsync(Url("/read"));
        await AdvanceUntilAsync(answer);

        using var response = await answer;
        Assert.Equal("Timeout", (await ApiAnswers.ErrorAsync(response, HttpStatusCode.GatewayTimeout)).Code);
        Assert.Equal(0, Volatile.Read(ref _served));
    }

    [Theory]
    [InlineData("/read?stale=true")]
    [InlineData("/watch?after=5")]
    public async Task Read_ServedFromLocalState_NeedsNoLeader(string path)
    {
        using var response = await _http.GetAsync(Url(path));

        Assert.Equal("served here", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, Volatile.Read(ref _consensus.Barriers));
    }

    [Fact]
    public async Task Read_BadStaleValue_IsBadRequest()
    {
        using var response = await _http.GetAsync(Url("/read?stale=maybe"));

        Assert.Equal("BadRequest", (await ApiAnswers.ErrorAsync(response, HttpStatusCode.BadRequest)).Code);
    }

    /// <summary>
    /// Moves the fake clock in small steps until <paramref name="answer"/> is in (a step the filter
    /// was not waiting on yet is simply one more step). Bounded: at most 100 fake minutes.
    /// </summary>
    private async Task AdvanceUntilAsync(Task answer)
    {
        for (var i = 0; i < 240_000 && !answer.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(25));
            await Task.WhenAny(answer, Task.Delay(2));
        }
        await answer.WaitAsync(TestCluster.Timeout);
    }

    private Uri Url(string path) => new(_node.Url, path);


    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _node.DisposeAsync();
        await _leader.DisposeAsync();
        _clients.Dispose();
        await _services.DisposeAsync();
    }
}
