using System.Net;
using Mesh.Registry.Tests.Api;

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
        var listen = new IPEndPoint(IPAddress.Loopback, TestCluster.FreePort());
        await using var relay = RequestCuttingRelay.Start(listen, cutWrites: false);
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m.Id == 3 ? m with { RaftEndPoint = relay.EndPoint, ClientEndPoint = null } : m with { ClientEndPoint = null }).ToArray(),
            PeerListenEndPoint = o.Id == 3 ? listen : null,
        });
        var (path, index) = await cluster.CreateOnLeaderAsync("/adv/listen", "v1");
        await cluster.WaitAppliedAsync(index);
        var node3 = cluster.Nodes[2]!;
        Assert.Equal("v1", await cluster.Http.GetStringAsync(cluster.Url(node3, $"/v1/nodes{path}?raw=true&stale=true")));
        Assert.True(relay.Connections > 0, "no peer connected through node 3's advertised address");
    }

    [Fact]
    public async Task Cluster_WithHostNamesInPeers_ElectsAndForwards()
    {
        // As in the StatefulSet: peers by name, each listening apart from its name.
        var listen = Enumerable.Range(0, 3).Select(_ => new IPEndPoint(IPAddress.Loopback, TestCluster.FreePort())).ToArray();
        await using var cluster = await TestCluster.StartAsync(configure: o => o with
        {
            Members = o.Members.Select(m => m with { RaftEndPoint = new DnsEndPoint("localhost", listen[m.Id - 1].Port), ClientEndPoint = null }).ToArray(),
            PeerListenEndPoint = listen[o.Id - 1],
        });
        var follower = cluster.Follower();
        using var response = await cluster.Http.PostAsync(cluster.Url(follower, "/v1/nodes/adv/dns?parents=true"), new StringContent("v1"));
        await cluster.JsonAsync(response, HttpStatusCode.Created);
        var status = await cluster.JsonAsync(await cluster.Http.GetAsync(cluster.Url(follower, "/v1/status")), HttpStatusCode.OK);
        Assert.Contains(status.GetProperty("members").EnumerateArray(), m => m.GetProperty("address").GetString() == $"localhost:{listen[0].Port}");
    }
}
