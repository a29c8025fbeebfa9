// The same limits over HTTP/2 (h2c prior knowledge), the protocol between sidecars: one stream's
// oversized request must not cost the connection's other streams, nor anyone else.
using System.Net;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class Http2Tests
{
    [Fact]
    public async Task OverH2c_BodyDeclaredOverTheLimit_Gets413_AndTheAppNeverSeesIt_WhileTheConnectionServesOtherStreams()
    {
        await using var rig = await HostileRig.StartAsync(inboundH2c: true);
        using var client = H2cClient(rig);

        using var tooLarge = await client.PostAsync("/big", new ByteArrayContent(new byte[HostileRig.MaxBodyBytes + 1]));
        using var normal = await client.PostAsync("/normal", new StringContent("hello"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal("request-too-large", Assert.Single(tooLarge.Headers.GetValues("x-mesh-error")));
        Assert.Equal(new Version(2, 0), tooLarge.Version);
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        Assert.Equal(0, rig.Log.Count("/big"));
    }

    [Fact]
    public async Task OverH2c_HeadersOverTheLimit_AreRefused_AndOtherClientsAreStillServed()
    {
        await using var rig = await HostileRig.StartAsync(inboundH2c: true);
        using (var attacker = H2cClient(rig))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/flood");
            for (var i = 0; i < HostileRig.MaxHeaderCount + 5; i++)
                request.Headers.Add($"x-flood-{i}", new string('v', 512));

            // Over HTTP/2 Kestrel refuses the stream with 400 rather than HTTP/1.1's 431; it may
            // also end the whole connection (a connection error), which the client sees as an exception.
            var outcome = await Record.ExceptionAsync(async () =>
            {
                using var response = await attacker.SendAsync(request);
                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.RequestHeaderFieldsTooLarge });
            });
            Assert.True(outcome is null or HttpRequestException, $"got {outcome}");
        }

        using var client = H2cClient(rig);
        for (var i = 0; i < 20; i++)
        {
            using var response = await client.PostAsync("/normal", new StringContent("hello"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(0, rig.Log.Count("/flood"));
    }

    private static HttpClient H2cClient(HostileRig rig) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = rig.Sidecar.InboundUrl,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        DefaultRequestHeaders = { Host = "catalog" },
        Timeout = RawHttpConnection.Patience,
    };
}
