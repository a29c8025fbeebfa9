using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Services;

public sealed class ServiceBodiesTests
{
    private static readonly SortedDictionary<string, string> Labels = new(StringComparer.Ordinal) { ["tier"] = "web", ["app"] = "shop" };

    [Fact]
    public void ServicesResponse_RoundTripsAsDocumented() =>
        RoundTrips(new ServicesResponse(57, ["catalog", "orders"]), RegistryJson.Default.ServicesResponse,
            """{"index":57,"services":["catalog","orders"]}""");

    [Fact]
    public void ServiceResponse_ListsInstancesAndTheOwner() =>
        RoundTrips(
            new ServiceResponse("catalog", 57, "shop", [
                new ServiceInstanceResponse("a", "10.0.0.5", 8080, 100, "v1", "z1", new Dictionary<string, string> { ["tier"] = "web" }),
                new ServiceInstanceResponse("b"),
            ]),
            RegistryJson.Default.ServiceResponse,
            """{"service":"catalog","index":57,"owner":"shop","instances":[{"id":"a","address":"10.0.0.5","port":8080,"weight":100,"version":"v1","zone":"z1","labels":{"tier":"web"}},{"id":"b"}]}""");

    [Fact]
    public void ServiceResponse_WithoutOwner_LeavesItOut() =>
        RoundTrips(new ServiceResponse("catalog", 3, null, []), RegistryJson.Default.ServiceResponse,
            """{"service":"catalog","index":3,"instances":[]}""");

    [Fact]
    public void InstanceDocument_HasEveryFieldAndSortedLabels() =>
        RoundTrips(new InstanceDocument("10.0.0.5", 8080, 100, "v1", "z1", Labels), RegistryJson.Default.InstanceDocument,
            """{"address":"10.0.0.5","port":8080,"weight":100,"version":"v1","zone":"z1","labels":{"app":"shop","tier":"web"}}""");

    [Fact]
    public void ServiceOwner_IsTheNamespaceRecord()
    {
        RoundTrips(new ServiceOwner("shop"), RegistryJson.Default.ServiceOwner, """{"namespace":"shop"}""");
        Assert.Equal("""{"namespace":"shop"}"""u8.ToArray(), new ServiceOwner("shop").ToBytes());
    }

    [Fact]
    public void ServiceOwner_Parse_ReadsWhatToBytesWrote()
    {
        var owner = ServiceOwner.Parse(new ServiceOwner("shop").ToBytes(), out var error);

        Assert.Null(error);
        Assert.Equal(new ServiceOwner("shop"), owner);
    }
}
