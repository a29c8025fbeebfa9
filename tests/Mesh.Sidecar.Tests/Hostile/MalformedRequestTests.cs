// Requests Kestrel must refuse while parsing, before the sidecar's handlers or the upstream see
// them: broken request lines, invalid header names, header floods and oversized headers.
namespace Mesh.Sidecar.Tests.Hostile;

public sealed class MalformedRequestTests
{
    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET /\r\nHost: catalog\r\n\r\n")]
    [InlineData("GET / HTTP/9.9\r\nHost: catalog\r\n\r\n")]
    [InlineData("GET /a b HTTP/1.1\r\nHost: catalog\r\n\r\n")]
    [InlineData("GET / HTTP/1.1 extra\r\nHost: catalog\r\n\r\n")]
    public async Task MalformedRequestLine_Gets4xxAndConnectionCloses(string request)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync(request);
        var response = await connection.ReadResponseAsync();

        Assert.NotNull(response);
        // 400 for a broken line; 505 for an unknown HTTP version.
        Assert.Contains(response.Status, new[] { 400, 505 });
        Assert.True(await connection.WaitForCloseAsync(), "the connection stayed open after a malformed request line");
        Assert.Empty(rig.Log.Paths);
        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("Bad Header: x")]
    [InlineData("Bad(Header): x")]
    [InlineData(": no-name")]
    [InlineData("X-Ctl: a\u0001b")]
    [InlineData("No-Colon")]
    public async Task InvalidHeaderLine_Gets400AndConnectionCloses(string header)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync($"GET /bad HTTP/1.1\r\nHost: catalog\r\n{header}\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(400, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/bad"));
    }

    [Theory]
    [InlineData("Bad(Header): x")]
    [InlineData("X-Ctl: a\u0001b")]
    [InlineData("X-Del: a\u007fb")]
    public async Task InvalidHeaderLine_OnTheInboundListener_Gets400AndNeverReachesTheApp(string header)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.InboundUrl);

        await connection.TrySendAsync($"GET /bad HTTP/1.1\r\nHost: catalog\r\n{header}\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(400, response?.Status);
        Assert.Equal("invalid-header", response?.Header("x-mesh-error"));
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/bad"));
    }

    [Fact]
    public async Task HeaderFlood_MoreHeadersThanTheLimit_Gets431()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        var headers = string.Concat(Enumerable.Range(0, HostileRig.MaxHeaderCount + 5).Select(i => $"X-Flood-{i}: {i}\r\n"));

        await connection.TrySendAsync($"GET /flood HTTP/1.1\r\nHost: catalog\r\n{headers}\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(431, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/flood"));
    }

    [Fact]
    public async Task HeaderFlood_SmallHeadersOverTheTotalSize_Gets431()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);
        // Under the count limit, over the byte limit.
        var value = new string('v', HostileRig.MaxHeaderBytes / (HostileRig.MaxHeaderCount - 5));
        var headers = string.Concat(Enumerable.Range(0, HostileRig.MaxHeaderCount - 2).Select(i => $"X-Big-{i}: {value}\r\n"));

        await connection.TrySendAsync($"GET /flood HTTP/1.1\r\nHost: catalog\r\n{headers}\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(431, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/flood"));
    }

    [Theory]
    [InlineData(16 * 1024)]
    [InlineData(1024 * 1024)]
    public async Task OneHugeHeader_Gets431WithoutReadingItAll(int headerBytes)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        // The send may fail part way: Kestrel stops reading at the limit and closes.
        await connection.TrySendAsync($"GET /huge HTTP/1.1\r\nHost: catalog\r\nX-Huge: {new string('h', headerBytes)}\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        // A reset can overtake the 431 on the wire when the unread rest of a 1 MB header is discarded.
        Assert.True(response is null || response.Status == 431, $"got {response?.Status}");
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/huge"));
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task OversizedRequestLine_Gets414()
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(rig.Sidecar.OutboundUrl);

        await connection.TrySendAsync($"GET /{new string('p', 16 * 1024)} HTTP/1.1\r\nHost: catalog\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(414, response?.Status);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Empty(rig.Log.Paths);
    }
}
