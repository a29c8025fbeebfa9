using System.Text;
using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Txn;

public sealed class TxnBodiesTests
{
    [Fact]
    public void TxnRequest_RoundTripsTheDocumentedExample() =>
        RoundTrips(
            new TxnRequest([
                new TxnOpRequest("check", "/a", Version: 3),
                new TxnOpRequest("create", "/a/b", Encoding.UTF8.GetBytes("hi"), Mode: "persistent", Session: 0),
                new TxnOpRequest("set", "/a", Encoding.UTF8.GetBytes("hi"), Version: -1),
                new TxnOpRequest("delete", "/c", Version: -1),
            ]),
            RegistryJson.Default.TxnRequest,
            """{"ops":[{"op":"check","path":"/a","version":3},{"op":"create","path":"/a/b","data":"aGk=","mode":"persistent","session":0},{"op":"set","path":"/a","data":"aGk=","version":-1},{"op":"delete","path":"/c","version":-1}]}""");

    [Fact]
    public void TxnOpRequest_ParentsAndRecursive_AreSentOnlyWhenGiven() =>
        RoundTrips(
            new TxnRequest([new TxnOpRequest("create", "/x/y", Parents: true), new TxnOpRequest("delete", "/x", Recursive: true)]),
            RegistryJson.Default.TxnRequest,
            """{"ops":[{"op":"create","path":"/x/y","parents":true},{"op":"delete","path":"/x","recursive":true}]}""");

    [Fact]
    public void TxnResponse_StatOnlyForCreateAndSet() =>
        RoundTrips(
            new TxnResponse(20, [new TxnOpResult("check", "/a", null, null), new TxnOpResult("create", "/a/b", Stat, null)]),
            RegistryJson.Default.TxnResponse,
            $$"""{"index":20,"results":[{"op":"check","path":"/a"},{"op":"create","path":"/a/b","stat":{{StatJson}}}]}""");
}
