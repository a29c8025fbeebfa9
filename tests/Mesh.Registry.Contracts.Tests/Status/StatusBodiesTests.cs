using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Status;

public sealed class StatusBodiesTests
{
    [Fact]
    public void StatusResponse_RoundTripsWithMembers() =>
        RoundTrips(
            new StatusResponse(1, "leader", 3, 1, 57, 57, [
                new MemberStatus(1, "127.0.0.1:7001", "http://127.0.0.1:8001", true, 0),
                new MemberStatus(2, "127.0.0.1:7002", null, false, null),
            ]),
            RegistryJson.Default.StatusResponse,
            """{"id":1,"role":"leader","term":3,"leader":1,"commitIndex":57,"appliedIndex":57,"members":[{"id":1,"address":"127.0.0.1:7001","clientUrl":"http://127.0.0.1:8001","available":true,"lag":0},{"id":2,"address":"127.0.0.1:7002","available":false,"lag":null}]}""");

    [Fact]
    public void StatusResponse_WithoutLeader_WritesLeaderNull() =>
        RoundTrips(new StatusResponse(2, "candidate", 4, null, 10, 9, []), RegistryJson.Default.StatusResponse,
            """{"id":2,"role":"candidate","term":4,"leader":null,"commitIndex":10,"appliedIndex":9,"members":[]}""");

    [Theory]
    [InlineData("ok")]
    [InlineData("ready")]
    public void HealthResponse_IsTheStatusWord(string status) =>
        RoundTrips(new HealthResponse(status), RegistryJson.Default.HealthResponse, $$"""{"status":"{{status}}"}""");
}
