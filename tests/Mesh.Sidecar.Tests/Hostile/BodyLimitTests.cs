// Bodies over `limits.maxRequestBodySize` on both data listeners: a declared length over the
// limit is refused from the headers alone, a chunked body is cut at the limit, and neither is
// buffered by the sidecar.
using System.Net;
using System.Text;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class BodyLimitTests
{
    public enum Listener
    {
        Outbound,
        Inbound,
    }

    [Theory]
    [InlineData(Listener.Outbound)]
    [InlineData(Listener.Inbound)]
    public async Task BodyOverLimit_DeclaredLength_Gets413FromTheHeadersAlone_AndTheUpstreamNeverSeesIt(Listener listener)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(UrlOf(rig, listener));

        // Only the head is sent: a 413 now proves the sidecar decided without buffering the body.
        await connection.TrySendAsync($"POST /big HTTP/1.1\r\nHost: catalog\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.NotNull(response);
        Assert.Equal(413, response.Status);
        Assert.Equal("request-too-large", response.Header("x-mesh-error"));
        Assert.True(response.SaysClose);
        Assert.True(await connection.WaitForCloseAsync());
        Assert.Equal(0, rig.Log.Count("/big"));
        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData(Listener.Outbound)]
    [InlineData(Listener.Inbound)]
    public async Task BodyOverLimit_Chunked_Gets413_AndTheUpstreamGetsNoMoreThanTheLimit(Listener listener)
    {
        await using var rig = await HostileRig.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(UrlOf(rig, listener));
        var chunk = Encoding.ASCII.GetBytes($"2000\r\n{new string('b', 0x2000)}\r\n");

        await connection.TrySendAsync("POST /chunked HTTP/1.1\r\nHost: catalog\r\nTransfer-Encoding: chunked\r\n\r\n");
        var sent = 0;
        while (sent < 4 * HostileRig.MaxBodyBytes && await connection.TrySendAsync(chunk))
            sent += 0x2000;
        await connection.TrySendAsync("0\r\n\r\n");
        var response = await connection.ReadResponseAsync();

        Assert.Equal(413, response?.Status);
        Assert.Equal("request-too-large", response?.Header("x-mesh-error"));
        Assert.True(await connection.WaitForCloseAsync());
        // The head was already forwarded when the limit was crossed; the body stops at the limit.
        var received = await FirstBodyAsync(rig.Log);
        Assert.InRange(received, 0, HostileRig.MaxBodyBytes);
        if (listener == Listener.Outbound)
            Assert.Equal(0, await rig.EndpointFailuresAsync());
        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData(Listener.Outbound)]
    [InlineData(Listener.Inbound)]
    public async Task BodyExactlyAtTheLimit_IsForwardedWhole(Listener listener)
    {
        await using var rig = await HostileRig.StartAsync();
        using var client = new HttpClient { BaseAddress = UrlOf(rig, listener), DefaultRequestHeaders = { Host = "catalog" } };

        using var response = await client.PostAsync("/exact", new ByteArrayContent(new byte[HostileRig.MaxBodyBytes]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HostileRig.MaxBodyBytes, await FirstBodyAsync(rig.Log));
    }

    private static Uri UrlOf(HostileRig rig, Listener listener) =>
        listener == Listener.Outbound ? rig.Sidecar.OutboundUrl : rig.Sidecar.InboundUrl;

    /// <summary>Waits (bounded) until the upstream has finished or broken off reading one body.</summary>
    private static async Task<long> FirstBodyAsync(UpstreamLog log)
    {
        using var timeout = new CancellationTokenSource(RawHttpConnection.Patience);
        long bytes;
        while (!log.BodyBytes.TryPeek(out bytes))
            await Task.Delay(20, timeout.Token);
        return bytes;
    }
}
