// Methods the sidecar does not forward are answered by the sidecar (501, x-mesh-error
// unsupported-method) and never reach, or count against, an endpoint.
namespace Mesh.Sidecar.Tests.Hostile;

public sealed class UnsupportedMethodTests
{
    // Ejects after two failures in a row: a single blamed CONNECT would show.
    private const string QuickEjection = """
        defaults:
          retries: { attempts: 1 }
          outlierDetection: { consecutiveFailures: 2, baseEjectionTime: 30s }
        """;

    [Fact]
    public async Task FiveConnects_AreAnswered501ByTheSidecar_AndTheOnlyEndpointStaysInRotation()
    {
        await using var rig = await HostileRig.StartAsync(yaml: QuickEjection);

        for (var i = 0; i < 5; i++)
        {
            await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
            await connection.TrySendAsync("CONNECT catalog:443 HTTP/1.1\r\nHost: catalog:443\r\n\r\n");
            var response = await connection.ReadResponseAsync();

            Assert.Equal(501, response?.Status);
            Assert.Equal("unsupported-method", response?.Header("x-mesh-error"));
        }

        Assert.Empty(rig.Log.Paths);
        Assert.Equal(0, await rig.EndpointFailuresAsync());
        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("outbound")]
    [InlineData("inbound")]
    public async Task Trace_IsAnswered501_AndNeverReachesTheApp(string listener)
    {
        await using var rig = await HostileRig.StartAsync(yaml: QuickEjection);
        var url = listener == "outbound" ? rig.Sidecar.OutboundUrl : rig.Sidecar.InboundUrl;

        for (var i = 0; i < 3; i++)
        {
            await using var connection = await RawHttpConnection.OpenAsync(url);
            await connection.TrySendAsync("TRACE /echo HTTP/1.1\r\nHost: catalog\r\nCookie: secret\r\n\r\n");
            var response = await connection.ReadResponseAsync();

            Assert.Equal(501, response?.Status);
            Assert.Equal("unsupported-method", response?.Header("x-mesh-error"));
        }

        Assert.Empty(rig.Log.Paths);
        Assert.Equal(0, await rig.EndpointFailuresAsync());
    }

    [Fact]
    public async Task UnknownMethod_IsForwarded_AndCountsNothingAgainstTheEndpoint()
    {
        await using var rig = await HostileRig.StartAsync(yaml: QuickEjection);

        for (var i = 0; i < 3; i++)
        {
            await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
            await connection.TrySendAsync("PURGE /cache HTTP/1.1\r\nHost: catalog\r\nContent-Length: 0\r\n\r\n");
            var response = await connection.ReadResponseAsync();

            Assert.Equal(200, response?.Status);
        }

        Assert.Equal(3, rig.Log.Count("/cache"));
        Assert.Equal(0, await rig.EndpointFailuresAsync());
    }
}
