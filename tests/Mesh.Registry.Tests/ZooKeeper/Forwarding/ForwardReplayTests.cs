using System.Net;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;
using Mesh.Registry.Hosting;
using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>
/// A forwarded write seen on the wire (the client API is plain HTTP unless the nodes have
/// certificates) and sent again within its proof's 30 s: the leader applies it once.
/// </summary>
public sealed class ForwardReplayTests
{
    [Fact]
    public async Task AForwardedWrite_SentAgainWithItsProof_IsRefused_AndAppliedOnce()
    {
        var (cluster, _) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        var leader = cluster.Nodes[0]!;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = CommandCodec.Encode(new CreateNode(CommandHeader.At(now), "/replayed-", NodeData.From("x"u8.ToArray()), CreateMode.Sequential));
        var key = new ZkSessionKey(leader.Store);
        var batch = ZkBatchCodec.EncodeCommands([body]);

        using var first = await PostAsync(cluster, leader, ZkLeaderEndpoints.WritePath, body, key.Prove(body, now)!);
        using var copy = await PostAsync(cluster, leader, ZkLeaderEndpoints.WritePath, body, key.Prove(body, now)!);
        using var asBatch = await PostAsync(cluster, leader, ZkLeaderEndpoints.BatchWritePath, batch, key.Prove(batch, now)!);
        using var batchCopy = await PostAsync(cluster, leader, ZkLeaderEndpoints.BatchWritePath, batch, key.Prove(batch, now)!);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, copy.StatusCode);
        Assert.Contains("used before", await copy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, asBatch.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, batchCopy.StatusCode);
        Assert.Equal(2, leader.Store.Read(s => s.GetChildren("/").Children.Count(c => c.StartsWith("replayed-", StringComparison.Ordinal))));
    }

    private static Task<HttpResponseMessage> PostAsync(TestCluster cluster, RegistryNode node, string path, byte[] body, string proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, cluster.Url(node, path)) { Content = new ByteArrayContent(body) };
        request.Headers.TryAddWithoutValidation(ZkLeaderEndpoints.ProofHeader, proof);
        return cluster.Http.SendAsync(request);
    }
}
