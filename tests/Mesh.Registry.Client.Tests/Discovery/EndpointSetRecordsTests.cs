using System.Collections.Immutable;
using System.Text;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Discovery;

public sealed class EndpointSetRecordsTests
{
    private static readonly EndpointSet Empty = new("catalog", 10, []);

    [Fact]
    public void Apply_InstancesAndOwner_GiveTheSetAReadWouldList()
    {
        var set = EndpointSetRecords.Apply(Empty,
        [
            Record(ChangeEvent.Created, 11, "/services/catalog", """{"namespace":"shop"}"""),
            Record(ChangeEvent.Created, 11, "/services/catalog/instances"),
            Record(ChangeEvent.Created, 12, "/services/catalog/instances/b", """{"address":"10.0.0.2","port":80,"weight":5}"""),
            Record(ChangeEvent.ChildrenChanged, 12, "/services/catalog/instances"),
            Record(ChangeEvent.Created, 13, "/services/catalog/instances/a", """{"address":"10.0.0.1","port":80}"""),
            Record(ChangeEvent.DataChanged, 14, "/services/catalog/instances/b", """{"address":"10.0.0.2","port":81,"weight":5}"""),
            Record(ChangeEvent.Deleted, 15, "/services/catalog/instances/a"),
        ], 15);

        Assert.NotNull(set);
        Assert.Equal(("shop", 15L), (set.Owner, set.Index));
        var instance = Assert.Single(set.Instances);
        Assert.Equal(("b", "10.0.0.2", 81, 5), (instance.Id, instance.Address, instance.Port, instance.Weight));
    }

    [Theory]
    [InlineData("/services/catalog/i-curator", """{"address":"10.0.0.9","port":80}""")]   // a Curator instance when the base path is /services
    [InlineData("/services/catalog/instances", """{"address":"10.0.0.9","port":80}""")]  // the instances node's own data
    public void Apply_AChangeOnlyTheRegistryCanList_IsNull_SoTheServiceIsRead(string path, string data) =>
        Assert.Null(EndpointSetRecords.Apply(Empty, [Record(ChangeEvent.Created, 11, path, data)], 11));

    [Fact]
    public void Apply_ACuratorInstanceUnderAnotherBase_OrAnIdListedTwice_IsNull()
    {
        Assert.Null(EndpointSetRecords.Apply(Empty, [Record(ChangeEvent.Created, 11, "/curator/catalog/x", "{}") with { ServicePath = "/services/catalog" }], 11));
        var twice = Empty with
        {
            Instances = [Instance("x"), Instance("x", curator: true)],
        };
        Assert.Null(EndpointSetRecords.Apply(twice, [Record(ChangeEvent.Deleted, 11, "/services/catalog/instances/x")], 11));
    }

    [Fact]
    public void ConfigApply_DocumentsAreTheDirectChildren()
    {
        var last = new ConfigSnapshot("/config/routes", 10, ImmutableSortedDictionary<string, byte[]>.Empty.Add("old", [1]));

        var next = ConfigSnapshotRecords.Apply(last,
        [
            Record(ChangeEvent.Created, 11, "/config/routes/r1", "one"),
            Record(ChangeEvent.Created, 12, "/config/routes/r1/deeper", "not a document"),
            Record(ChangeEvent.Deleted, 13, "/config/routes/old"),
        ], 13);

        Assert.Equal(13, next.Index);
        Assert.Equal("one", Encoding.UTF8.GetString(Assert.Single(next.Documents, d => d.Key == "r1").Value));
        Assert.Single(next.Documents);
    }

    private static WatchStreamRecord Record(string type, long index, string path, string? data = null) =>
        new(type, index, path, Data: type is ChangeEvent.Created or ChangeEvent.DataChanged ? Encoding.UTF8.GetBytes(data ?? "") : null);

    private static ServiceInstance Instance(string id, bool curator = false) => new()
    {
        Id = id,
        Address = "10.0.0.1",
        Port = 80,
        Labels = curator ? ImmutableSortedDictionary<string, string>.Empty.Add("registration", "curator") : ImmutableSortedDictionary<string, string>.Empty,
    };
}
