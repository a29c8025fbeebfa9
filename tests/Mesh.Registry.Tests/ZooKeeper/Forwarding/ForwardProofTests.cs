using Mesh.Registry.ZooKeeper.Forwarding;

namespace Mesh.Registry.Tests.ZooKeeper.Forwarding;

/// <summary>
/// The header a follower proves a forwarded request with: it says by itself whether the sender
/// holds the cluster's key and stamped it recently, and then whether a body is the one it covers.
/// </summary>
public sealed class ForwardProofTests
{
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly byte[] Body = "a forwarded command"u8.ToArray();
    private const long Now = 1_800_000_000_000;

    [Fact]
    public void AProofMadeWithTheKey_IsSignedByIt_AndCoversItsBodyOnly()
    {
        Assert.True(ForwardProof.TryParse(ForwardProof.Create(Key, Body, Now), out var proof));

        Assert.True(proof.IsSignedBy(Key, Now));
        Assert.True(proof.Covers(Body));
        Assert.False(proof.Covers("another command"u8));
        Assert.False(proof.Covers([]));
    }

    [Fact]
    public void AProofMadeWithAnotherKey_IsNotSignedByTheClusters()
    {
        byte[] stranger = [.. Key.Select(b => (byte)(b ^ 0xFF))];
        Assert.True(ForwardProof.TryParse(ForwardProof.Create(stranger, Body, Now), out var proof));

        Assert.False(proof.IsSignedBy(Key, Now));
    }

    [Theory]
    [InlineData(-30_000, true)]
    [InlineData(30_000, true)]
    [InlineData(-30_001, false)]
    [InlineData(30_001, false)]
    public void AProof_HoldsOnlyWithinThirtySecondsOfTheReceiversClock(long receiverAheadMs, bool holds)
    {
        Assert.True(ForwardProof.TryParse(ForwardProof.Create(Key, Body, Now), out var proof));

        Assert.Equal(holds, proof.IsSignedBy(Key, Now + receiverAheadMs));
    }

    [Fact]
    public void ChangingTheTimeOrTheHashOfAProof_BreaksItsSignature()
    {
        var parts = ForwardProof.Create(Key, Body, Now).Split('.');
        var otherHash = ForwardProof.Create(Key, "another command"u8, Now).Split('.')[1];

        Assert.True(ForwardProof.TryParse($"{Now + 1}.{parts[1]}.{parts[2]}", out var retimed));
        Assert.True(ForwardProof.TryParse($"{parts[0]}.{otherHash}.{parts[2]}", out var rehashed));
        Assert.False(retimed.IsSignedBy(Key, Now));
        Assert.False(rehashed.IsSignedBy(Key, Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1800000000000")]
    [InlineData("1800000000000.AAAA.AAAA")]
    [InlineData("soon.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.x")]
    [InlineData("1.not base64 at all, and far too long to be a hash of anything.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void AMalformedHeader_IsNoProof(string? header)
    {
        Assert.False(ForwardProof.TryParse(header, out _));
    }

    [Fact]
    public void AnOversizedHeader_IsNoProof_WithoutBeingSplit()
    {
        Assert.False(ForwardProof.TryParse(new string('A', 64 * 1024), out _));
    }
}
