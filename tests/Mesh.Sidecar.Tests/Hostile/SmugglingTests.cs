// Request smuggling: framing a front proxy and the app could read differently. The sidecar must
// refuse ambiguous framing outright, and a request hidden in a body must never reach the
// upstream as a request of its own.
namespace Mesh.Sidecar.Tests.Hostile;

public sealed class SmugglingTests
{
    private const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: catalog\r\n\r\n";

    [Fact]
    public async Task SmugglingAttempt_ContentLengthAndChunked_Gets400AndConnectionCloses()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        // Read by Content-Length the body is "0\r\n\r\n" and the smuggled GET is a second request;
        // read as chunked the body is empty and the GET follows. Kestrel alone would read it as
        // chunked and close; the sidecar refuses it so no reading of it is ever forwarded.
        var request = "POST /front HTTP/1.1\r\nHost: catalog\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + Smuggled;

        await connection.TrySendAsync(request);
        var response = await connection.ReadResponseAsync();

        Assert.Equal(400, response?.Status);
        Assert.Equal("ambiguous-framing", response?.Header("x-mesh-error"));
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/smuggled"));
        Assert.Equal(0, rig.Log.Count("/front"));
        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("Transfer-Encoding: xchunked")]
    [InlineData("Transfer-Encoding: chunked, identity")]
    [InlineData("Transfer-Encoding: gzip")]
    public async Task SmugglingAttempt_TransferEncodingNotEndingInChunked_Gets400(string transferEncoding)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync($"POST /front HTTP/1.1\r\nHost: catalog\r\n{transferEncoding}\r\n\r\n0\r\n\r\n{Smuggled}");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(400, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/smuggled"));
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nContent-Length: 44")]
    [InlineData("Content-Length: 5, 44")]
    [InlineData("Content-Length: -5")]
    [InlineData("Content-Length: 5x")]
    public async Task SmugglingAttempt_AmbiguousContentLength_Gets400(string contentLength)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync($"POST /front HTTP/1.1\r\nHost: catalog\r\n{contentLength}\r\n\r\nhello{Smuggled}");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(400, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/smuggled"));
        Assert.Equal(0, rig.Log.Count("/front"));
    }

    [Fact]
    public async Task BrokenChunkedBody_Gets400_AndTheEndpointIsNotBlamed()
    {
        await using var rig = await HostileRig.StartAsync();

        for (var i = 0; i < 10; i++)
        {
            await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
            await connection.TrySendAsync($"POST /chunks HTTP/1.1\r\nHost: catalog\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n{Smuggled}");
            var response = await connection.ReadResponseAsync();

            Assert.Equal(400, response?.Status);
            Assert.Equal("bad-request-body", response?.Header("x-mesh-error"));
            Assert.True(await connection.WaitForCloseAsync());
        }

        Assert.Equal(0, rig.Log.Count("/smuggled"));
        // The caller broke its own body: outlier detection must not count it against the endpoint.
        Assert.Equal(0, await rig.EndpointFailuresAsync());
        await rig.AssertStillServesAsync();
    }
}
