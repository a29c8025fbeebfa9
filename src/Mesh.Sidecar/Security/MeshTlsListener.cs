// Kestrel wiring for the inbound listener. Strict: HTTPS with a required client certificate.
// Permissive: one port for both, chosen per connection by its first byte (0x16 is a TLS
// handshake record; anything else is plaintext HTTP), by a connection middleware placed before
// Kestrel's HTTPS middleware that hands plaintext connections straight to the HTTP layer.
// Either way the HTTP layer's writes to TLS go out in batches (BatchedTlsOutput).
using System.Security.Authentication;
using Mesh.Registry.Client.Identity;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Mesh.Sidecar.Security;

internal static class MeshTlsListener
{
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>Makes <paramref name="listen"/> a mesh inbound listener in <paramref name="mode"/>.</summary>
    public static ListenOptions UseMeshTls(
        this ListenOptions listen, IWorkloadCertificateSource certificates, PeerCertificateValidator validator, MeshTlsMode mode = MeshTlsMode.Strict)
    {
        var https = CreateHttpsOptions(certificates, validator, mode);
        if (mode == MeshTlsMode.Strict)
        {
            listen.UseHttps(https);
            listen.Use(BatchedTlsOutput.Use);
            return listen;
        }

        // Middleware added first runs first. The last one only captures the HTTP layer (what comes
        // after TLS) so the first one can skip TLS for plaintext connections.
        ConnectionDelegate? http = null;
        listen.Use(tls => connection => DispatchAsync(connection, tls, http!));
        listen.UseHttps(https);
        listen.Use(BatchedTlsOutput.Use);
        listen.Use(next => http = next);
        return listen;
    }

    /// <summary>Kestrel HTTPS options for the inbound listener (exposed for hosts that configure Kestrel themselves).</summary>
    public static HttpsConnectionAdapterOptions CreateHttpsOptions(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, MeshTlsMode mode) => new()
        {
            SslProtocols = SslProtocols.Tls13,
            ClientCertificateMode = mode == MeshTlsMode.Strict ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
            CheckCertificateRevocation = false,
            // Kestrel insists on a certificate or selector; OnAuthenticate then swaps in the full context.
            ServerCertificateSelector = (_, _) => certificates.Current.Certificate,
            OnAuthenticate = (_, ssl) =>
            {
                // The context carries the intermediates; read per handshake, so rotation applies here.
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificate = null;
                ssl.ServerCertificateContext = certificates.Current.Context;
            },
            ClientCertificateValidation = (certificate, chain, _) => validator.Validate(certificate, chain, PeerRole.Client).IsValid,
        };

    private static async Task DispatchAsync(ConnectionContext connection, ConnectionDelegate tls, ConnectionDelegate http)
    {
        var input = connection.Transport.Input;
        bool isTls;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(connection.ConnectionClosed).ConfigureAwait(false);
                if (read.Buffer.Length > 0)
                {
                    isTls = read.Buffer.FirstSpan[0] == TlsHandshakeRecord;
                    input.AdvanceTo(read.Buffer.Start); // consume nothing: the next layer reads it all
                    break;
                }

                input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                    return;
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await (isTls ? tls : http)(connection).ConfigureAwait(false);
    }
}
