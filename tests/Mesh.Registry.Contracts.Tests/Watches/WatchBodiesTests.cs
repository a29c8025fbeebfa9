using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Watches;

public sealed class WatchBodiesTests
{
    [Fact]
    public void WatchResponse_RoundTripsTheDocumentedExample() =>
        RoundTrips(
            new WatchResponse(57, [
                new ChangeEvent(55, ChangeEvent.Created, "/services/catalog/instances/a"),
                new ChangeEvent(55, ChangeEvent.ChildrenChanged, "/services/catalog/instances"),
                new ChangeEvent(57, ChangeEvent.DataChanged, "/services/catalog/instances/a"),
            ]),
            RegistryJson.Default.WatchResponse,
            """{"index":57,"events":[{"index":55,"type":"created","path":"/services/catalog/instances/a"},{"index":55,"type":"childrenChanged","path":"/services/catalog/instances"},{"index":57,"type":"dataChanged","path":"/services/catalog/instances/a"}]}""");

    [Fact]
    public void WatchResponse_WithoutEvents_HasAnEmptyList() =>
        RoundTrips(new WatchResponse(60, []), RegistryJson.Default.WatchResponse, """{"index":60,"events":[]}""");

    [Fact]
    public void WatchStreamRecord_Change_HasTypeIndexAndPath() =>
        RoundTrips(new WatchStreamRecord(ChangeEvent.Created, 55, "/services/catalog/instances/a"), RegistryJson.Default.WatchStreamRecord,
            """{"type":"created","index":55,"path":"/services/catalog/instances/a"}""");

    [Fact]
    public void WatchStreamRecord_Resume_HasNoPath() =>
        RoundTrips(new WatchStreamRecord(WatchStreamRecord.Resume, 70, Message: "this registry node is stopping"), RegistryJson.Default.WatchStreamRecord,
            """{"type":"resume","index":70,"message":"this registry node is stopping"}""");
}
