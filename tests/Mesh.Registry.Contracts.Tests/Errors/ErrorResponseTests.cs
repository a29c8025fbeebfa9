using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Errors;

public sealed class ErrorResponseTests
{
    [Fact]
    public void ErrorResponse_IsCodeAndMessageOnly() =>
        RoundTrips(new ErrorResponse("NoNode", "node /a (or its parent) does not exist"), RegistryJson.Default.ErrorResponse,
            """{"error":"NoNode","message":"node /a (or its parent) does not exist"}""");

    [Fact]
    public void ErrorResponse_OfIndexCompacted_NamesTheOldestIndex() =>
        RoundTrips(new ErrorResponse("IndexCompacted", "gone", OldestIndex: 40), RegistryJson.Default.ErrorResponse,
            """{"error":"IndexCompacted","message":"gone","oldestIndex":40}""");

    [Fact]
    public void ErrorResponse_OfABodyOverItsLimit_NamesTheLimit() =>
        RoundTrips(new ErrorResponse("BodyTooLarge", "too big", LimitBytes: 16384), RegistryJson.Default.ErrorResponse,
            """{"error":"BodyTooLarge","message":"too big","limitBytes":16384}""");

    [Fact]
    public void ErrorResponse_OfARefusedTxn_NamesTheFailedOpAndEachOpsError() =>
        RoundTrips(
            new ErrorResponse("BadVersion", "op 1: node /a does not have the expected version", FailedOp: 1,
                Results: [new TxnOpResult(null, null, null, "Ok"), new TxnOpResult(null, null, null, "BadVersion")]),
            RegistryJson.Default.ErrorResponse,
            """{"error":"BadVersion","message":"op 1: node /a does not have the expected version","failedOp":1,"results":[{"error":"Ok"},{"error":"BadVersion"}]}""");
}
