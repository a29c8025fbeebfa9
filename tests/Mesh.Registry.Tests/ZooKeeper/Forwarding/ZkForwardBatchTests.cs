using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>A forwarded batch counts every command it will carry, so its body never passes the leader's limit.</summary>
public sealed class ZkForwardBatchTests
{
    [Fact]
    public void TryAdd_CountsTheFirstCommandToo_AndRefusesOneThatWouldPassTheLimit()
    {
        const long limit = 2 * 1024 * 1024;
        var batch = new ZkForwardBatch(limit, maxCount: 64);

        Assert.True(batch.TryAdd(new byte[1000 * 1024]));
        Assert.True(batch.TryAdd(new byte[500 * 1024]));
        Assert.False(batch.TryAdd(new byte[1000 * 1024]));
        Assert.True(batch.TryAdd(new byte[400 * 1024]));

        var body = ZkBatchCodec.EncodeCommands(batch.Commands);
        Assert.Equal(batch.Bytes, body.Length);
        Assert.True(body.Length <= limit);
        Assert.Equal(3, batch.Commands.Count);
    }

    [Fact]
    public void TryAdd_PastTheCount_IsRefused()
    {
        var batch = new ZkForwardBatch(1024, maxCount: 2);

        Assert.True(batch.TryAdd([1]));
        Assert.True(batch.TryAdd([2]));
        Assert.True(batch.IsFull);
        Assert.False(batch.TryAdd([3]));
        Assert.Equal(ZkBatchCodec.EncodeCommands(batch.Commands).Length, batch.Bytes);
    }
}
