using Mesh.Registry.Hosting;
using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Tests.PeerTls;

/// <summary>
/// Registry clusters in this process whose peers hold the cluster key: they replicate over mutual
/// TLS, and whoever lacks the key (plain TCP, a certificate of its own, a node on another key)
/// never gets past the handshake, so the cluster's term and leader stay as they were.
/// </summary>
public sealed class SecurePeerClusterTests
{
    [Fact]
    public async Task Cluster_WithAKey_ElectsCommitsAndSurvivesALeaderKill()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var key = ClusterKey.Generate();
        await using var cluster = await StartAsync(factory, key);

        var (_, first) = await cluster.CreateOnLeaderAsync("/before", "1");
        await cluster.WaitAppliedAsync(first);
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.StopNodeAsync(leader.Id);
        var next = await cluster.WaitForLeaderAsync();
        var (_, second) = await cluster.CreateOnLeaderAsync("/after", "2");
        await cluster.StartNodeAsync(leader.Id);
        await cluster.WaitAppliedAsync(second);

        Assert.NotEqual(leader.Id, next.Id);
        Assert.Equal(4, logs.Messages.Count(m => m.Contains("peers connect over mutual TLS 1.3 with cluster key", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PeerPort_PlainTcpACertificateOfItsOwnOrNone_AreRefusedAndTheTermStaysPut_WhileTheKeyHoldersForgeryWorks()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var key = ClusterKey.Generate();
        // Long election timeouts: no election of the cluster's own during the test.
        await using var cluster = await StartAsync(factory, key, o => o with
        {
            PeerHandshakeTimeout = TimeSpan.FromSeconds(2),
            LowerElectionTimeout = TimeSpan.FromSeconds(2),
            UpperElectionTimeout = TimeSpan.FromSeconds(4),
        });
        var leader = await cluster.WaitForLeaderAsync();
        var term = leader.Consensus.Term;
        var leaderPort = cluster.Members[leader.Id - 1].RaftEndPoint;
        using var stranger = PeerCredentials.Create(ClusterKey.Generate(), 7, TimeProvider.System);

        var plain = await PeerPortClient.PlainAsync(leaderPort, PeerPortClient.ForgedResign);
        var silent = await PeerPortClient.PlainAsync(leaderPort, []);
        var ownCertificate = await PeerPortClient.TlsAsync(leaderPort, stranger.Leaf, PeerPortClient.ForgedResign);
        var noCertificate = await PeerPortClient.TlsAsync(leaderPort, null, PeerPortClient.ForgedResign);

        Assert.Empty(plain);
        Assert.Empty(silent);
        Assert.Empty(ownCertificate);
        Assert.Empty(noCertificate);
        Assert.Equal(term, leader.Consensus.Term);
        Assert.True(leader.IsLeader);
        // The node closes, then logs: wait for the line. Once a minute per address: one line for the four.
        (LogLevel Level, string Message, Exception? Exception)[] Refusals() =>
            [.. logs.Entries.Where(e => e.Message.StartsWith($"Node {leader.Id}: refused a connection to the peer port from 127.0.0.1", StringComparison.Ordinal))];
        await Eventually.TrueAsync(() => Refusals().Length > 0, "the leader never said that it refused a connection");
        var refusal = Assert.Single(Refusals());
        Assert.Null(refusal.Exception);
        Assert.Equal(LogLevel.Warning, refusal.Level);
        Assert.Contains("(0 more from it since the last such line", refusal.Message, StringComparison.Ordinal);

        // The same bytes from a holder of the key depose the leader: the refusals above were the key's doing.
        var answer = await PeerPortClient.KeyHolderAsync(leaderPort, key, PeerPortClient.ForgedResign, 1);
        Assert.Equal(1, answer[0]);
        await Eventually.TrueAsync(() => cluster.Nodes.Any(n => n!.Consensus.Term > term), "the resign a key holder sent never led to a new term");
    }

    [Fact]
    public async Task PeerPort_SilentConnection_IsDroppedAtTheHandshakeDeadline()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var key = ClusterKey.Generate();
        await using var cluster = await StartAsync(factory, key, o => o with { PeerHandshakeTimeout = TimeSpan.FromSeconds(2) });

        var received = await PeerPortClient.PlainAsync(cluster.Members[0].RaftEndPoint, []);

        Assert.Empty(received);
        await Eventually.TrueAsync(() => logs.Messages.Any(m => m.StartsWith("Node 1: refused a connection to the peer port from 127.0.0.1: no TLS handshake within 2 s", StringComparison.Ordinal)),
            "node 1 never said why it dropped the silent connection");
    }

    [Fact]
    public async Task Node_OnAnotherKey_NeverJoins_TheOthersKeepCommitting_AndBothSidesSayWhy()
    {
        var logs = new CapturedLogs();
        using var factory = logs.Factory();
        var key = ClusterKey.Generate();
        await using var cluster = await StartAsync(factory, key, o => o with
        {
            LowerElectionTimeout = TimeSpan.FromSeconds(1),
            UpperElectionTimeout = TimeSpan.FromSeconds(2),
        });
        var leader = await cluster.WaitForLeaderAsync();
        var outsider = leader.Id == 3 ? 2 : 3;
        await cluster.StopNodeAsync(outsider);
        var term = leader.Consensus.Term;

        // Restarted empty on a key of its own: a node that was never let in (kept out of the
        // cluster's list, whose waits for a leader would wait for it too).
        var data = Directory.CreateTempSubdirectory("mesh-registry-tests-").FullName;
        await using var node = new RegistryNode(cluster.OptionsOf(outsider) with { ClusterKey = ClusterKey.Generate(), DataDirectory = data });
        await node.StartAsync();
        var wrongFingerprint = WrongFingerprint(logs, outsider);

        for (var i = 0; i < 5; i++)
        {
            var (_, index) = await cluster.CreateOnLeaderAsync($"/written-{i}", "v");
            await cluster.WaitAppliedAsync(index);
        }
        await Eventually.TrueAsync(() => logs.Messages.Any(m => m.StartsWith($"Node {outsider}: cannot talk to peer 127.0.0.1:", StringComparison.Ordinal)
                && m.Contains($"its certificate is not from this cluster's key: made with cluster key ", StringComparison.Ordinal)
                && m.Contains($"this node's key is {wrongFingerprint}", StringComparison.Ordinal)),
            $"node {outsider} never said that its peers are on another key");
        await Eventually.TrueAsync(() => logs.Messages.Any(m => m.StartsWith($"Node {leader.Id}: refused a connection to the peer port from 127.0.0.1", StringComparison.Ordinal)),
            $"the leader never said that it refused node {outsider}");

        Assert.Equal(0, node.Consensus.CommitIndex);
        Assert.Null(node.Consensus.LeaderId);
        Assert.Equal(term, leader.Consensus.Term);
        Assert.True(leader.IsLeader);
        Assert.All(logs.Entries.Where(e => e.Message.Contains("peer", StringComparison.Ordinal) && e.Level >= LogLevel.Warning), e => Assert.Null(e.Exception));
        await node.DisposeAsync();
        Directory.Delete(data, recursive: true);
    }

    /// <summary>Three nodes holding <paramref name="key"/>, logging to <paramref name="logs"/>; <paramref name="tune"/> changes their options further.</summary>
    private static Task<TestCluster> StartAsync(ILoggerFactory logs, ClusterKey key, Func<RegistryNodeOptions, RegistryNodeOptions>? tune = null) =>
        TestCluster.StartAsync(3, o => (tune ?? (same => same))(o with { ClusterKey = key, LoggerFactory = logs }));

    private static string WrongFingerprint(CapturedLogs logs, int id)
    {
        var line = logs.Messages.Last(m => m.StartsWith($"Registry node {id}: peers connect over mutual TLS 1.3 with cluster key ", StringComparison.Ordinal));
        return line[(line.LastIndexOf(' ') + 1)..];
    }
}
