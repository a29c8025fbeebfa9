// HTTP/2 rapid reset (CVE-2023-44487) at the inbound listener over mutual TLS: a client opens
// streams and cancels each right after its HEADERS. Requests cancelled mid-flight must not turn
// into stack traces in the log (they are the client's doing) and the listener keeps serving.
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Security;
using Mesh.Sidecar.Tests.Security;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class RapidResetTests : IDisposable
{
    private const int Connections = 10;
    private const int StreamsPerConnection = 500;

    private readonly MeshTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task RapidResetOverMutualTls_LogsNoObjectDisposedTrace_AndTheInboundListenerKeepsServing()
    {
        await using var app = await TestApp.StartAsync(async context =>
        {
            // Slow enough that the reset arrives while the request is being forwarded.
            await Task.Delay(5, context.RequestAborted);
            await context.Response.WriteAsync("ok", context.RequestAborted);
        });
        var logs = new AllLogs();
        var config = Mesh.Sidecar.Configuration.SidecarConfigLoader.Parse("service:\n  name: catalog\n  namespace: shop\n" + TestSidecar.Listeners + "\n"
            + $"app: {{ address: \"{app.Url.ToString().TrimEnd('/')}\" }}\n");
        await using var sidecar = new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Debug) })
        {
            Security = new SidecarSecurity(MeshTlsMode.Strict, _pki.Trust, _pki.Source("catalog"), MeshTestPki.Id("catalog")),
        };
        await sidecar.StartAsync(CancellationToken.None);
        Assert.Equal("https", sidecar.InboundUrl.Scheme);

        // Bounded: 10 connections one after another, up to 500 cancelled streams each (Kestrel
        // may close a connection early for too many resets: then the next one starts).
        var sent = 0;
        for (var c = 0; c < Connections; c++)
            sent += await FloodAsync(sidecar.InboundUrl).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(sent > 0, "no stream was opened");

        // The listener still serves a well-behaved mesh caller.
        var validator = new PeerCertificateValidator(_pki.Trust);
        using var client = new HttpClient(MeshTlsOptions.CreateHandler(_pki.Source("frontend"), validator, MeshTestPki.Id("catalog")));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(sidecar.InboundUrl, "/after")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());

        // Kestrel's verdicts on the flooding connections are counted as connection noise instead.
        var scrape = await Telemetry.Scrape.GetAsync(sidecar.AdminUrl);
        Assert.True(scrape.Sum("mesh_sidecar_connection_errors_total", ("direction", "inbound"), ("kind", "http2_abuse")) > 0, "no http2_abuse counted");

        // A reset stream cancels the forwarding to the app; HttpClient may report that as a
        // TaskCanceledException whose cause is the connection stream it disposed mid-write, which
        // YARP logs below Warning. That is a cancellation, not the disposed-object bug looked for.
        var disposed = logs.Entries.Where(e => e.Exception is not null and not OperationCanceledException
            && e.Exception.ToString().Contains(nameof(ObjectDisposedException), StringComparison.Ordinal)).ToArray();
        Assert.True(disposed.Length == 0, $"{disposed.Length} log entries with an ObjectDisposedException, first: {disposed.FirstOrDefault().Message}: {disposed.FirstOrDefault().Exception}");
        var traces = logs.Entries.Where(e => e.Exception is not null && e.Level >= LogLevel.Warning).ToArray();
        Assert.True(traces.Length == 0, $"{traces.Length} log entries with a stack trace at Warning or above:\n{string.Join("\n", traces.Select(t => t.Message).Distinct().Take(10))}");
    }

    /// <summary>One raw HTTP/2 connection over mTLS: HEADERS then RST_STREAM(CANCEL) per stream. Returns the streams opened.</summary>
    private async Task<int> FloodAsync(Uri inbound)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, inbound.Port);
        await using var tls = new SslStream(tcp.GetStream());
        var options = MeshTlsOptions.CreateClientOptions(_pki.Source("frontend"), new PeerCertificateValidator(_pki.Trust), MeshTestPki.Id("catalog"));
        options.ApplicationProtocols = [SslApplicationProtocol.Http2];
        await tls.AuthenticateAsClientAsync(options);
        Assert.Equal(SslApplicationProtocol.Http2, tls.NegotiatedApplicationProtocol);

        // Drain whatever the server sends, so its writes never block on us.
        var drain = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (await tls.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        });

        var opened = 0;
        try
        {
            await tls.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
            await tls.WriteAsync(Frame(type: 0x4, flags: 0, stream: 0, []));
            var headers = HeaderBlock(inbound.Authority);
            for (var i = 0; i < StreamsPerConnection; i++)
            {
                var stream = 1 + (2 * i);
                var burst = Frame(type: 0x1, flags: 0x5, stream, headers) // HEADERS, END_STREAM | END_HEADERS
                    .Concat(Frame(type: 0x3, flags: 0, stream, [0, 0, 0, 0x8])) // RST_STREAM, CANCEL
                    .ToArray();
                await tls.WriteAsync(burst);
                opened++;
            }
            await tls.FlushAsync();
            await Task.Delay(200);
        }
        catch (IOException)
        {
            // The server closed the connection (too many resets): what the mitigation is for.
        }
        tcp.Client.Shutdown(SocketShutdown.Both);
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
        return opened;
    }

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>HPACK: GET https /rapid with the authority, every field from the static table or literal without indexing.</summary>
    private static byte[] HeaderBlock(string authority)
    {
        var block = new List<byte> { 0x82, 0x87 }; // :method GET, :scheme https
        Literal(block, 0x04, "/rapid"); // :path
        Literal(block, 0x01, authority); // :authority
        return [.. block];

        static void Literal(List<byte> block, byte nameIndex, string value)
        {
            block.Add(nameIndex);
            block.Add((byte)value.Length);
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }
    }
}
