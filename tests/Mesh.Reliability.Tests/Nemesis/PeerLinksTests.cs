namespace Mesh.Reliability.Tests.Nemesis;

public sealed class PeerLinksTests
{
    [Fact]
    public void Isolate_Minority_CutsEveryLinkAcrossBothWays_AndNoneInside()
    {
        var links = new PeerLinks(5);
        links.Isolate([0, 1]);
        Assert.True(links.IsCut(0, 2) && links.IsCut(2, 0) && links.IsCut(1, 4) && links.IsCut(4, 1));
        Assert.False(links.IsCut(0, 1) || links.IsCut(2, 3));
    }

    [Fact]
    public void Cut_OneWay_HoldsOnlyThatDirection_UntilHealed()
    {
        var links = new PeerLinks(3);
        links.Cut(0, 2, bothWays: false);
        Assert.True(links.IsCut(0, 2));
        Assert.False(links.IsCut(2, 0));
        Assert.Equal("0→2", links.ToString());
        links.HealAll();
        Assert.False(links.IsCut(0, 2));
    }

    [Fact]
    public void Cut_Bridge_LeavesTheThirdNodeSeeingBoth()
    {
        var links = new PeerLinks(3);
        links.Cut(0, 2, bothWays: true);
        Assert.True(links.IsCut(0, 2) && links.IsCut(2, 0));
        Assert.False(links.IsCut(0, 1) || links.IsCut(1, 0) || links.IsCut(1, 2) || links.IsCut(2, 1));
    }
}
