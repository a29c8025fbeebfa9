using System.Text;
using System.Text.Json;
using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Nodes;

public sealed class NodeBodiesTests
{
    [Fact]
    public void NodeStat_RoundTripsAsDocumented() =>
        RoundTrips(Stat, RegistryJson.Default.NodeStat, StatJson);

    [Fact]
    public void NodeResponse_RoundTripsWithBase64Data()
    {
        var node = new NodeResponse("/a", Encoding.UTF8.GetBytes("hello"), Stat);
        var golden = $$"""{"path":"/a","data":"aGVsbG8=","stat":{{StatJson}}}""";

        Assert.Equal(golden, JsonSerializer.Serialize(node, RegistryJson.Default.NodeResponse));
        var back = JsonSerializer.Deserialize(golden, RegistryJson.Default.NodeResponse)!;
        Assert.Equal(node.Path, back.Path);
        Assert.Equal(node.Data.ToArray(), back.Data.ToArray());
        Assert.Equal(node.Stat, back.Stat);
    }

    [Fact]
    public void NodeResponse_EmptyData_IsAnEmptyString()
    {
        var json = JsonSerializer.Serialize(new NodeResponse("/a", ReadOnlyMemory<byte>.Empty, Stat), RegistryJson.Default.NodeResponse);

        Assert.Contains("\"data\":\"\"", json);
        Assert.True(JsonSerializer.Deserialize(json, RegistryJson.Default.NodeResponse)!.Data.IsEmpty);
    }

    [Fact]
    public void ChildrenResponse_RoundTripsAsDocumented() =>
        RoundTrips(new ChildrenResponse("/a", ["b", "c"], Stat), RegistryJson.Default.ChildrenResponse,
            $$"""{"path":"/a","children":["b","c"],"stat":{{StatJson}}}""");

    [Fact]
    public void ChildrenResponse_WithData_CarriesEachChildsDataInNameOrder()
    {
        var json = JsonSerializer.Serialize(new ChildrenResponse("/a", ["b", "c"], Stat, [new byte[] { 1, 2 }, Array.Empty<byte>()]), RegistryJson.Default.ChildrenResponse);
        Assert.Equal($$"""{"path":"/a","children":["b","c"],"stat":{{StatJson}},"data":["AQI=",""]}""", json);
        Assert.Equal([[1, 2], []], JsonSerializer.Deserialize(json, RegistryJson.Default.ChildrenResponse)!.Data!.Select(d => d.ToArray()));
    }

    [Fact]
    public void WriteResponse_OfACreate_HasPathStatAndIndex() =>
        RoundTrips(new WriteResponse("/q/item-0000000001", Stat, 13), RegistryJson.Default.WriteResponse,
            $$"""{"path":"/q/item-0000000001","stat":{{StatJson}},"index":13}""");

    [Fact]
    public void WriteResponse_OfADelete_IsTheIndexOnly() =>
        RoundTrips(new WriteResponse(null, null, 14), RegistryJson.Default.WriteResponse, """{"index":14}""");
}
