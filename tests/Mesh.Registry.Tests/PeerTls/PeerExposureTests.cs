using System.Net;
using Mesh.Registry.Hosting;
using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.PeerTls;

public sealed class PeerExposureTests
{
    private static readonly IReadOnlyList<ClusterMember> LoopbackPeers = ClusterMember.ParseList("1=127.0.0.1:7101,2=127.0.0.1:7102,3=[::1]:7103");

    [Fact]
    public void Check_LoopbackOnlyCluster_NeedsNoKey()
    {
        Assert.Null(PeerExposure.Check(LoopbackPeers, null, hasKey: false, insecure: false));
        Assert.Null(PeerExposure.Check(LoopbackPeers, new IPEndPoint(IPAddress.Loopback, 0), hasKey: false, insecure: false));
        Assert.Null(PeerExposure.Check(ClusterMember.ParseList("1=localhost:7101,2=localhost:7102,3=localhost:7103"), null, hasKey: false, insecure: false));
    }

    [Fact]
    public void Check_OneMemberOnAnotherHost_NeedsNoKey()
    {
        Assert.Null(PeerExposure.Check([], new IPEndPoint(IPAddress.Any, 7101), hasKey: false, insecure: false));
        Assert.Null(PeerExposure.Check(ClusterMember.ParseList("1=10.0.0.1:7101"), null, hasKey: false, insecure: false));
    }

    [Theory]
    [InlineData("1=10.0.0.1:7101,2=10.0.0.2:7101,3=10.0.0.3:7101", null, "--peers lists 10.0.0.1:7101")]
    [InlineData("1=127.0.0.1:7101,2=127.0.0.1:7102,3=reg-2.peers:7101", null, "--peers lists reg-2.peers:7101")]
    [InlineData("1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103", "0.0.0.0:7101", "--listen-peer is 0.0.0.0:7101")]
    [InlineData("1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103", "[::]:7101", "--listen-peer is [::]:7101")]
    public void Check_ReachableFromOtherHostsWithoutKey_NamesTheAddressAndBothFlags(string peers, string? listen, string where)
    {
        var members = ClusterMember.ParseList(peers);
        var listenAt = listen is null ? null : IPEndPoint.Parse(listen);

        var error = PeerExposure.Check(members, listenAt, hasKey: false, insecure: false);

        Assert.NotNull(error);
        Assert.Contains($"({where})", error, StringComparison.Ordinal);
        Assert.Contains("--cluster-key-file", error, StringComparison.Ordinal);
        Assert.Contains("--insecure-peer-transport", error, StringComparison.Ordinal);
        Assert.Null(PeerExposure.Check(members, listenAt, hasKey: true, insecure: false));
        Assert.Null(PeerExposure.Check(members, listenAt, hasKey: false, insecure: true));
    }

    [Fact]
    public async Task Start_PeersOnOtherHostsWithoutKey_FailsBeforeTouchingTheDataDirectory()
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));
        await using var node = new RegistryNode(new RegistryNodeOptions
        {
            Id = 1,
            Members = ClusterMember.ParseList("1=192.0.2.1:7101,2=192.0.2.2:7101,3=192.0.2.3:7101"),
            DataDirectory = data,
            ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            LoggerFactory = NullLoggerFactory.Instance,
        });

        var e = await Assert.ThrowsAsync<StartupException>(() => node.StartAsync());

        Assert.StartsWith("the Raft peer port can be reached from other hosts (--peers lists 192.0.2.1:7101) and has no cluster key", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }
}
