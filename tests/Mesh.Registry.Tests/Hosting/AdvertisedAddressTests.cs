using System.Net;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Hosting;

/// <summary>Members publish their own client address, so --peers needs only the Raft addresses.</summary>
public sealed class AdvertisedAddressTests
{
    [Fact]
    public async Task Write_ToFollowerWithRaftOnlyPeers_IsForwardedToTheLeadersPublishedClientAddress()
    {
        // No member's client address is in the peer list: each node knows only its own.
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { ClientEndPoint = null }).ToArray(),
        });
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Follower();

        using var response = await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/adv/x?parents=true"), new StringContent("v1"));
        await cluster.JsonAsync(response, HttpStatusCode.Created);
        Assert.Equal(leader.ClientUrl.ToString().TrimEnd('/'), response.Headers.GetValues("Mesh-Leader").Single());

        // A linearizable read on the follower goes the same way.
        var read = await cluster.Http.GetStringAsync(cluster.Url(follower, "/v1/nodes/adv/x?raw=true"));
        Assert.Equal("v1", read);
    }

    [Fact]
    public async Task Node_ListeningForPeersApartFromItsAdvertisedAddress_JoinsTheCluster()
    {
        // Node 3 listens for Raft on its own port; the others reach it (and know it) by another
        // address, a relay in front of it, as behind NAT or a wildcard listener.
        using var listen = BoundListener.Loopback();
        await using var relay = FaultyTcpRelay.Start(listen.EndPoint);
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m.Id == 3 ? m with { RaftEndPoint = relay.Endpoint, ClientEndPoint = null } : m with { ClientEndPoint = null }).ToArray(),
            PeerListener = o.Id == 3 ? listen : o.PeerListener,
        });
        // Written through a follower: whichever node leads, a peer reaches node 3 through the
        // relay (the leader's heartbeats, or the follower asking node 3, the leader, for its
        // client address), since a leader itself never needs a connection from its followers.
        var follower = cluster.Follower();
        using var response = await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/adv/listen?parents=true"), new StringContent("v1"));
        var index = (await cluster.JsonAsync(response, HttpStatusCode.Created)).GetProperty("index").GetInt64();
        await cluster.WaitAppliedAsync(index);
        var node3 = cluster.Nodes[2]!;
        Assert.Equal("v1", await cluster.Http.GetStringAsync(cluster.Url(node3, "/v1/nodes/adv/listen?raw=true&stale=true")));
        Assert.True(relay.Connections > 0, "no peer connected through node 3's advertised address");
    }

    [Fact]
    public async Task Cluster_WithHostNamesInPeers_ElectsAndForwards()
    {
        // As in the StatefulSet: peers by name, each listening apart from its name.
        var listeners = Enumerable.Range(0, 3).Select(_ => BoundListener.Loopback()).ToArray();
        var listen = listeners.Select(l => l.EndPoint).ToArray();
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { RaftEndPoint = new DnsEndPoint("localhost", listen[m.Id - 1].Port), ClientEndPoint = null }).ToArray(),
            PeerListener = listeners[o.Id - 1],
        });
        var follower = cluster.Follower();
        using var response = await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/adv/dns?parents=true"), new StringContent("v1"));
        await cluster.JsonAsync(response, HttpStatusCode.Created);
        var status = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(follower, "/v1/status")), HttpStatusCode.OK);
        Assert.Contains(status.GetProperty("members").EnumerateArray(), m => m.GetProperty("address").GetString() == $"localhost:{listen[0].Port}");
    }
}
