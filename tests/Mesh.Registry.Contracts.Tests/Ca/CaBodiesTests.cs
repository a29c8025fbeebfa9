using static Mesh.Registry.Contracts.Tests.WireSamples;

namespace Mesh.Registry.Contracts.Tests.Ca;

public sealed class CaBodiesTests
{
    [Fact]
    public void CaSignRequest_RoundTripsAsDocumented() =>
        RoundTrips(new CaSignRequest("tok", "shop", "catalog", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"),
            RegistryJson.Default.CaSignRequest,
            """{"token":"tok","namespace":"shop","service":"catalog","csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}""");

    [Fact]
    public void CaSignResponse_HasTheLeafChainAndExpiry() =>
        RoundTrips(new CaSignResponse("LEAF", ["INTERMEDIATE"], new DateTimeOffset(2026, 12, 7, 18, 0, 0, TimeSpan.Zero)),
            RegistryJson.Default.CaSignResponse,
            """{"certificate":"LEAF","chain":["INTERMEDIATE"],"expiresAt":"2026-12-07T18:00:00+00:00"}""");

    [Fact]
    public void CaRootResponse_RoundTripsAsDocumented() =>
        RoundTrips(new CaRootResponse("ROOT", "mesh.local"), RegistryJson.Default.CaRootResponse, """{"root":"ROOT","trustDomain":"mesh.local"}""");

    [Fact]
    public void CaRevokeRequest_RoundTripsAsDocumented() =>
        RoundTrips(new CaRevokeRequest("tok"), RegistryJson.Default.CaRevokeRequest, """{"token":"tok"}""");

    [Fact]
    public void CaRevokeResponse_RoundTripsAsDocumented() =>
        RoundTrips(new CaRevokeResponse(2, 30), RegistryJson.Default.CaRevokeResponse, """{"removed":2,"index":30}""");
}
