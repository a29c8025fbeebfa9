using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.PeerTls;

/// <summary>
/// Someone talking to a registry node's peer port: over plain TCP, over TLS with a certificate of
/// its own (or none) and no check of the server's, or as a holder of the cluster key. Each sends
/// bytes and returns whatever came back before the node closed the connection.
/// </summary>
internal static class PeerPortClient
{
    /// <summary>
    /// DotNext's Raft "Resign" request: one byte, message type 2, no sender, no term. A leader
    /// that gets it steps down at once, so the cluster runs an election (a higher term). Its
    /// answer is one byte, 1 when the receiver was leading.
    /// </summary>
    public static readonly byte[] ForgedResign = [0x02];

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>Bytes over plain TCP; what came back until the node closed the connection.</summary>
    public static async Task<byte[]> PlainAsync(EndPoint peerPort, byte[] request)
    {
        using var socket = await ConnectAsync(peerPort);
        if (request.Length > 0)
            await socket.SendAsync(request);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        return await ReadUntilClosedAsync(stream);
    }

    /// <summary>Bytes over TLS 1.3 presenting <paramref name="certificate"/> (or none) and trusting any server; the handshake may fail, which counts as closed.</summary>
    public static async Task<byte[]> TlsAsync(EndPoint peerPort, X509Certificate2? certificate, byte[] request)
    {
        using var socket = await ConnectAsync(peerPort);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            using var timeout = new CancellationTokenSource(Bound);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "mesh-registry-peer",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, timeout.Token);
            await tls.WriteAsync(request);
            await tls.FlushAsync();
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            // Refused during the handshake (TLS 1.2 and earlier, or the server's alert arriving early).
            return [];
        }
        return await ReadUntilClosedAsync(tls);
    }

    /// <summary>Bytes as a holder of <paramref name="key"/> would send them (the node's own handshake, as node 99); the first <paramref name="answerBytes"/> bytes of the answer.</summary>
    public static async Task<byte[]> KeyHolderAsync(EndPoint peerPort, ClusterKey key, byte[] request, int answerBytes)
    {
        using var handshake = new PeerHandshake(PeerCredentials.Create(key, 99, TimeProvider.System), 99, NullLogger.Instance, TimeProvider.System);
        var socket = await ConnectAsync(peerPort);
        using var timeout = new CancellationTokenSource(Bound);
        await using var connection = await handshake.ConnectAsync(socket, peerPort, timeout.Token);
        await connection.Transport.Output.WriteAsync(request, timeout.Token);
        var answer = new byte[answerBytes];
        await connection.Transport.Input.AsStream().ReadExactlyAsync(answer, timeout.Token);
        return answer;
    }

    private static async Task<Socket> ConnectAsync(EndPoint peerPort)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(peerPort, timeout.Token);
        return socket;
    }

    /// <summary>Everything read until the other side closes (or resets) the connection; the wait is bounded, and running into the bound fails the test.</summary>
    public static async Task<byte[]> ReadUntilClosedAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var received = new MemoryStream();
        var buffer = new byte[1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                received.Write(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or AuthenticationException && !timeout.IsCancellationRequested)
        {
            // Reset, or a TLS alert: closed as well.
        }
        return received.ToArray();
    }
}
