using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Sessions;

public sealed class SessionBodiesTests
{
    [Fact]
    public void SessionOpenRequest_RoundTripsAsDocumented() =>
        RoundTrips(new SessionOpenRequest(10000), RegistryJson.Default.SessionOpenRequest, """{"ttlMs":10000}""");

    [Fact]
    public void SessionResponse_OfAnOpen_HasTheIndex() =>
        RoundTrips(new SessionResponse(7, 10000, 21), RegistryJson.Default.SessionResponse, """{"id":7,"ttlMs":10000,"index":21}""");

    [Fact]
    public void SessionResponse_OfAKeepAlive_HasNoIndex() =>
        RoundTrips(new SessionResponse(7, 10000), RegistryJson.Default.SessionResponse, """{"id":7,"ttlMs":10000}""");

    [Fact]
    public void SessionListResponse_RoundTripsAsDocumented() =>
        RoundTrips(new SessionListResponse([new SessionInfo(7, 10000, 2)]), RegistryJson.Default.SessionListResponse,
            """{"sessions":[{"id":7,"ttlMs":10000,"ephemeralCount":2}]}""");
}
