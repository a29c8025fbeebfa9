using Mesh.Registry.Core.Sessions;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper.Tests.Sessions;

public sealed class ZkConnectTests
{
    private static readonly byte[] Key = "cluster secret"u8.ToArray();
    private static readonly ZkSessionLimits Limits = new(4_000, 40_000);

    private static SessionInfo? Live(long id) => id == 7 ? new SessionInfo(7, 12_000, 0, 0) : null;

    [Fact]
    public void Decide_ClientAheadOfThisNode_IsRefused()
    {
        var decision = ZkConnect.Decide(new ConnectRequest(0, 101, 10_000, 0, null, false), 100, Limits, Live, Key);
        var refuse = Assert.IsType<ZkConnectDecision.Refuse>(decision);
        Assert.Contains("seen zxid 101", refuse.Reason);
    }

    [Theory]
    [InlineData(1_000, 4_000)]
    [InlineData(10_000, 10_000)]
    [InlineData(90_000, 40_000)]
    public void Decide_NewSession_NegotiatesTheTimeoutWithinLimits(int asked, int granted)
    {
        var decision = ZkConnect.Decide(new ConnectRequest(0, 0, asked, 0, new byte[16], false), 5, Limits, Live, Key);
        Assert.Equal(new ZkConnectDecision.OpenNew(granted), decision);
    }

    [Fact]
    public void Decide_LiveSessionWithItsPassword_ResumesWithItsTimeout()
    {
        var password = ZkConnect.Accepted(7, 12_000, Key).Passwd;
        var decision = ZkConnect.Decide(new ConnectRequest(0, 5, 30_000, 7, password, false), 5, Limits, Live, Key);
        Assert.Equal(new ZkConnectDecision.Resume(7, 12_000), decision);
    }

    [Fact]
    public void Decide_WrongPasswordOrUnknownSession_IsExpired()
    {
        var otherKey = ZkPasswords.For("another cluster"u8, 7);
        Assert.IsType<ZkConnectDecision.Expired>(ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 7, otherKey, false), 5, Limits, Live, Key));
        Assert.IsType<ZkConnectDecision.Expired>(ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 8, ZkPasswords.For(Key, 8), false), 5, Limits, Live, Key));
        Assert.Equal(0, ZkConnect.Rejected.TimeOut);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decide_WithoutAQuorum_RefusesEveryConnect_ReadOnlyAllowedOrNot(bool canBeReadOnly)
    {
        var password = ZkConnect.Accepted(7, 12_000, Key).Passwd;

        var fresh = ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 0, null, canBeReadOnly), 5, Limits, Live, Key, serving: false);
        var resumed = ZkConnect.Decide(new ConnectRequest(0, 5, 10_000, 7, password, canBeReadOnly), 5, Limits, Live, Key, serving: false);

        Assert.Contains("no quorum", Assert.IsType<ZkConnectDecision.Refuse>(fresh).Reason);
        Assert.IsType<ZkConnectDecision.Refuse>(resumed);
        if (canBeReadOnly)
            Assert.Contains("--zk-read-only", Assert.IsType<ZkConnectDecision.Refuse>(fresh).Reason);
    }

    [Fact]
    public void Decide_ReadOnlyMode_NoQuorum_ServesClientsThatAllowIt_ReadOnly()
    {
        var password = ZkConnect.Accepted(7, 12_000, Key).Passwd;

        var fresh = ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 0, null, ReadOnly: true), 5, Limits, Live, Key, serving: false, readOnly: true);
        var resumed = ZkConnect.Decide(new ConnectRequest(0, 5, 10_000, 7, password, ReadOnly: true), 5, Limits, Live, Key, serving: false, readOnly: true);
        var wrongPassword = ZkConnect.Decide(new ConnectRequest(0, 5, 10_000, 7, new byte[16], ReadOnly: true), 5, Limits, Live, Key, serving: false, readOnly: true);
        var notAllowed = ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 0, null, ReadOnly: false), 5, Limits, Live, Key, serving: false, readOnly: true);
        var ahead = ZkConnect.Decide(new ConnectRequest(0, 6, 10_000, 0, null, ReadOnly: true), 5, Limits, Live, Key, serving: false, readOnly: true);

        Assert.Equal(new ZkConnectDecision.OpenReadOnly(10_000), fresh);
        Assert.Equal(new ZkConnectDecision.Resume(7, 12_000, ReadOnly: true), resumed);
        Assert.IsType<ZkConnectDecision.Expired>(wrongPassword);
        Assert.Contains("does not allow read-only", Assert.IsType<ZkConnectDecision.Refuse>(notAllowed).Reason);
        Assert.Contains("seen zxid 6", Assert.IsType<ZkConnectDecision.Refuse>(ahead).Reason);
        Assert.True(ZkConnect.Accepted(7, 12_000, Key, readOnly: true).ReadOnly);
    }

    [Fact]
    public void LocalReadOnlySession_ResumesReadOnly_AndIsExpiredOnceTheNodeHasAQuorum()
    {
        var id = ZkConnect.LocalReadOnlySessionId(Random.Shared.NextInt64());
        var password = ZkConnect.Accepted(id, 10_000, Key).Passwd;

        var whileCutOff = ZkConnect.Decide(new ConnectRequest(0, 5, 10_000, id, password, ReadOnly: true), 5, Limits, Live, Key, serving: false, readOnly: true);
        var withAQuorum = ZkConnect.Decide(new ConnectRequest(0, 5, 10_000, id, password, ReadOnly: true), 5, Limits, Live, Key, serving: true);

        Assert.True(id > 0 && ZkConnect.IsLocalReadOnlySession(id));
        Assert.False(ZkConnect.IsLocalReadOnlySession(7));
        Assert.Equal(new ZkConnectDecision.Resume(id, 10_000, ReadOnly: true), whileCutOff);
        Assert.Equal(new ZkConnectDecision.Expired(id), withAQuorum);
    }

    [Fact]
    public void Accepted_ForAClientThatAllowsReadOnly_IsReadWrite()
    {
        var decision = ZkConnect.Decide(new ConnectRequest(0, 0, 10_000, 0, null, ReadOnly: true), 5, Limits, Live, Key);

        Assert.IsType<ZkConnectDecision.OpenNew>(decision);
        Assert.False(ZkConnect.Accepted(9, 10_000, Key).ReadOnly);
    }

    [Fact]
    public void Limits_OutsideTheRegistrysSessionLimits_AreNamed()
    {
        Assert.Null(Limits.Validate());
        Assert.Contains("min (500)", new ZkSessionLimits(500, 40_000).Validate());
        Assert.NotNull(new ZkSessionLimits(50_000, 40_000).Validate());
    }
}
