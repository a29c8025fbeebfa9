// Mutual TLS 1.3 on a peer connection, either side, within a deadline. Both sides present their
// leaf certificate and accept the other's only if it chains to the cluster key's CA
// (PeerCredentials): without the key a connection never gets past this point, so nothing it
// sends reaches DotNext. A silent or slow client is cut at the deadline.
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.PeerTls;

internal sealed class PeerHandshake : IDisposable
{
    /// <summary>The name a node asks for (SNI); not checked by either side, the key is the identity.</summary>
    private const string TargetHost = "mesh-registry-peer";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public const int DefaultMaxPending = 64;

    private readonly TimeProvider _time;

    public PeerHandshake(PeerCredentials credentials, int nodeId, ILogger logger, TimeProvider time, TimeSpan? timeout = null, int? maxPending = null)
    {
        Credentials = credentials;
        _time = time;
        Timeout = timeout ?? DefaultTimeout;
        MaxPending = maxPending ?? DefaultMaxPending;
        Refusals = new RefusedPeers(nodeId, logger, time);
    }

    public PeerCredentials Credentials { get; }

    /// <summary>How long a connection may take to complete its handshake.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>How many accepted connections may be in their handshake (or waiting for DotNext) at once; more are closed at once.</summary>
    public int MaxPending { get; }

    public RefusedPeers Refusals { get; }

    /// <summary>
    /// The server side on an accepted socket (which the result, or the failure, owns): the
    /// connection, or a <see cref="PeerRefusedException"/> saying why not. Only
    /// <paramref name="stopping"/> ends it otherwise (<see cref="OperationCanceledException"/>).
    /// </summary>
    public Task<TlsConnection> AcceptAsync(Socket socket, CancellationToken stopping) =>
        AuthenticateAsync(socket, peer: null, SslPolicyErrors.None, stopping, (stream, validate, token) =>
            stream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = Credentials.Context,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = Credentials.ChainPolicy(),
                RemoteCertificateValidationCallback = validate,
            }, token));

    /// <summary>
    /// The client side on a connected socket (which the result, or the failure, owns). A refusal
    /// is logged here (once a minute per peer) and thrown as <see cref="PeerRefusedException"/>;
    /// <paramref name="cancellationToken"/> (DotNext's connect timeout) ends it as cancelled.
    /// The server's name is not checked: the peer is reached by address, and the key is the identity.
    /// </summary>
    public Task<TlsConnection> ConnectAsync(Socket socket, EndPoint peer, CancellationToken cancellationToken) =>
        AuthenticateAsync(socket, peer, SslPolicyErrors.RemoteCertificateNameMismatch, cancellationToken, (stream, validate, token) =>
            stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = TargetHost,
                ClientCertificateContext = Credentials.Context,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = Credentials.ChainPolicy(),
                RemoteCertificateValidationCallback = validate,
            }, token));

    private async Task<TlsConnection> AuthenticateAsync(Socket socket, EndPoint? peer, SslPolicyErrors ignored, CancellationToken cancellationToken,
        Func<SslStream, RemoteCertificateValidationCallback, CancellationToken, Task> authenticate)
    {
        var local = socket.LocalEndPoint;
        var remote = socket.RemoteEndPoint;
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        string? refusal = null;
        using var deadline = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            await authenticate(stream, (_, certificate, chain, errors) => (refusal = Credentials.Check(certificate, chain, errors & ~ignored)) is null, linked.Token)
                .ConfigureAwait(false);
            return new TlsConnection(stream, local, remote);
        }
        catch (Exception e)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            var reason = refusal ?? (deadline.IsCancellationRequested ? $"no TLS handshake within {Seconds(Timeout)}" : Describe(e));
            if (peer is not null)
                Refusals.Outbound(Hosting.ClusterMember.Format(peer), reason);
            throw new PeerRefusedException(reason);
        }
    }

    /// <summary>A failed handshake in words: the exception's own message (and its cause's), never its stack.</summary>
    private static string Describe(Exception e) =>
        e.InnerException is { } inner && inner.Message != e.Message
            ? $"the TLS handshake failed ({e.Message} {inner.Message})"
            : $"the TLS handshake failed ({e.Message})";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    public void Dispose() => Credentials.Dispose();
}

/// <summary>A peer connection failed its TLS handshake; the message says why, for the log.</summary>
internal sealed class PeerRefusedException(string message) : IOException(message);
