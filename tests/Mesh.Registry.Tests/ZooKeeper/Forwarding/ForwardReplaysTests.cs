using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

public sealed class ForwardReplaysTests
{
    private static readonly byte[] Key = new byte[32];
    private const long Now = 1_800_000_000_000;

    private static ForwardProof Proof(string body, long timeMs)
    {
        Assert.True(ForwardProof.TryParse(ForwardProof.Create(Key, System.Text.Encoding.UTF8.GetBytes(body), timeMs), out var proof));
        return proof;
    }

    [Fact]
    public void TryUse_AProofShownAgain_IsARefusedReplay_AnotherProofIsNot()
    {
        var replays = new ForwardReplays();

        Assert.True(replays.TryUse(Proof("a", Now), Now));
        Assert.False(replays.TryUse(Proof("a", Now), Now + 10_000));
        Assert.True(replays.TryUse(Proof("a", Now + 1), Now + 10_000));
        Assert.True(replays.TryUse(Proof("b", Now), Now + 10_000));
    }

    [Fact]
    public void TryUse_ProofsOlderThanTheirWindow_AreForgotten_SoTheSetStaysBounded()
    {
        var replays = new ForwardReplays();
        for (var i = 0; i < 1000; i++)
            replays.TryUse(Proof($"write {i}", Now), Now);

        replays.TryUse(Proof("later", Now + 30_001), Now + 30_001);

        Assert.Equal(1, replays.Count);
    }
}
