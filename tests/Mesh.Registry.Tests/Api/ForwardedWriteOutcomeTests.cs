using System.Net;
using System.Text.Json;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Api;

/// <summary>A write a follower forwarded is answered "not applied" only when it never left the follower.</summary>
public sealed class ForwardedWriteOutcomeTests
{
    [Fact]
    public async Task ForwardedWrite_LeaderDiesAfterApplying_IsAnsweredOutcomeUnknown()
    {
        // Every member's client address goes through a relay that holds the leader's answer to a
        // write, so the test can kill the leader after it applied the write and before the
        // follower hears back.
        var relays = new Dictionary<int, FaultyTcpRelay>();
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { ClientEndPoint = Relay(m).Endpoint }).ToArray(),
        });
        try
        {
            var leader = await cluster.WaitForLeaderAsync();
            var follower = cluster.Follower();
            var write = cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/outcome/x?parents=true"), new StringContent("v1"));

            var relay = relays[leader.Id];
            await relay.AnswerHeld.WaitAsync(TestCluster.Timeout);
            await cluster.StopNodeAsync(leader.Id);
            relay.CutConnections();

            using var response = await write.WaitAsync(TestCluster.Timeout);
            var body = await cluster.JsonAsync(response, HttpStatusCode.GatewayTimeout);
            Assert.Equal("OutcomeUnknown", body.GetProperty("error").GetString());

            // It was applied: the new leader has it.
            await cluster.WaitForLeaderAsync();
            using var read = await cluster.Http.GetAsync(cluster.Url(follower, "/v1/nodes/outcome/x?raw=true"));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        finally
        {
            foreach (var relay in relays.Values)
                await relay.DisposeAsync();
        }

        FaultyTcpRelay Relay(ClusterMember member)
        {
            lock (relays)
            {
                if (!relays.TryGetValue(member.Id, out var relay))
                    relays[member.Id] = relay = FaultyTcpRelay.StartHoldingAnswersToWrites(member.ClientEndPoint!);
                return relay;
            }
        }
    }

    [Fact]
    public async Task ForwardedDelete_LeaderClosesTheConnectionAfterApplying_IsAnsweredOutcomeUnknown()
    {
        // A bodiless request whose connection ends before an answer is resent by the HTTP
        // handler itself; to a dead leader that resend is refused, which must not turn an
        // applied delete into "not applied".
        var relays = new Dictionary<int, FaultyTcpRelay>();
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { ClientEndPoint = Relay(m).Endpoint }).ToArray(),
        });
        try
        {
            var leader = await cluster.WaitForLeaderAsync();
            using (var created = await cluster.Http.PostAsync(cluster.Url(leader, "/v1/nodes/outcome/d?parents=true"), new StringContent("v1")))
                await cluster.JsonAsync(created, HttpStatusCode.Created);
            var follower = cluster.Follower();
            var delete = cluster.Http.DeleteAsync(cluster.Url(follower, "/v1/nodes/outcome/d"));

            var relay = relays[leader.Id];
            await relay.AnswerHeld.WaitAsync(TestCluster.Timeout);
            await cluster.StopNodeAsync(leader.Id);
            relay.CloseAll();

            using var response = await delete.WaitAsync(TestCluster.Timeout);
            var body = await cluster.JsonAsync(response, HttpStatusCode.GatewayTimeout);
            Assert.Equal("OutcomeUnknown", body.GetProperty("error").GetString());
            await cluster.WaitForLeaderAsync();
            using var read = await cluster.Http.GetAsync(cluster.Url(follower, "/v1/nodes/outcome/d"));
            Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        }
        finally
        {
            foreach (var relay in relays.Values)
                await relay.DisposeAsync();
        }

        FaultyTcpRelay Relay(ClusterMember member)
        {
            lock (relays)
            {
                if (!relays.TryGetValue(member.Id, out var relay))
                    relays[member.Id] = relay = FaultyTcpRelay.StartHoldingAnswersToWrites(member.ClientEndPoint!);
                return relay;
            }
        }
    }

    [Fact]
    public async Task ForwardedWrite_LeaderUnreachableBeforeSending_IsAnsweredUnavailable()
    {
        // The leader's client address as the followers know it refuses connections: nothing is sent.
        using var refusing = new RefusingPort();
        var refused = new IPEndPoint(IPAddress.Loopback, refusing.Port);
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { ClientEndPoint = refused }).ToArray(),
            ClientEndPoint = o.ClientEndPoint,
        });
        var follower = cluster.Follower();
        using var response = await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/outcome/y?parents=true"), new StringContent("v1"));
        var body = await cluster.JsonAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unavailable", body.GetProperty("error").GetString());
        var leader = await cluster.WaitForLeaderAsync();
        using var read = await cluster.Http.GetAsync(cluster.Url(leader, "/v1/nodes/outcome/y"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        _ = JsonDocument.Parse(await read.Content.ReadAsStringAsync());
    }
}
