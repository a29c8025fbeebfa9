using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Watches;

/// <summary>Which records of a shared stream belong to one watch.</summary>
public sealed class StreamWatchCoversTests
{
    [Theory]
    [InlineData("/services/catalog", true)]
    [InlineData("/services/catalog/instances/a", true)]
    [InlineData("/services/catalogue", false)]
    [InlineData("/services", false)]
    public void Prefix_CoversItsNodeAndWhatIsBelow(string path, bool covered) =>
        Assert.Equal(covered, StreamWatch.Prefix("/services/catalog").Covers(new WatchStreamRecord(ChangeEvent.Created, 5, path)));

    [Fact]
    public void Prefix_OfAService_CoversACuratorInstanceElsewhere_ThatCarriesItsServicePath()
    {
        var curator = new WatchStreamRecord(ChangeEvent.Created, 5, "/dubbo/catalog/3f2a", ServicePath: "/services/catalog");

        Assert.True(StreamWatch.Prefix("/services/catalog").Covers(curator));
        Assert.False(StreamWatch.Prefix("/services/orders").Covers(curator));
        Assert.False(StreamWatch.Node("/services/catalog").Covers(curator));
    }
}
