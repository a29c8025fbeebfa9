// TLS settings for mesh hops, built from this sidecar's certificate source and a peer validator:
// TLS 1.3 only, ALPN h2 then http/1.1, mutual authentication, no revocation checks (certificates
// live hours, not years). The certificate is read from the source at every handshake, so a
// rotation applies to new connections while existing ones carry on.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Sidecar.Security;

internal static class MeshTlsOptions
{
    public static readonly List<SslApplicationProtocol> ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <summary>
    /// Server options for one connection (the certificate context is the source's current one, so
    /// build them per connection, e.g. from <see cref="ServerOptionsCallback"/>).
    /// </summary>
    public static SslServerAuthenticationOptions CreateServerOptions(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, bool requireClientCertificate = true) => new()
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = ApplicationProtocols,
            ServerCertificateContext = certificates.Current.Context,
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                certificate is null ? !requireClientCertificate : validator.Validate(certificate, chain, PeerRole.Client).IsValid,
        };

    /// <summary>For <c>SslStream.AuthenticateAsServerAsync(callback, state)</c>: fresh options per handshake.</summary>
    public static ServerOptionsSelectionCallback ServerOptionsCallback(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, bool requireClientCertificate = true) =>
        (_, _, _, _) => ValueTask.FromResult(CreateServerOptions(certificates, validator, requireClientCertificate));

    /// <summary>
    /// Client options for connections to <paramref name="expectedServer"/>: present our current
    /// certificate and accept only a server whose SPIFFE id is exactly that one, so another
    /// service's valid certificate cannot impersonate it. Safe to share between connections.
    /// </summary>
    public static SslClientAuthenticationOptions CreateClientOptions(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, SpiffeId expectedServer) => new()
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = ApplicationProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // Mesh peers are named by SPIFFE id, not host name; the validator checks the id.
            TargetHost = expectedServer.Service,
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificates.Current.Certificate,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                validator.Validate(certificate, chain, PeerRole.Server, expectedServer).IsValid,
        };

    /// <summary>
    /// A handler for calls to one destination service over mTLS (https:// URLs). One handler per
    /// destination, because the expected server id is part of its TLS settings and its pool.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(
        IWorkloadCertificateSource certificates, PeerCertificateValidator validator, SpiffeId expectedServer, TimeSpan? pooledConnectionLifetime = null)
    {
        var handler = Forwarder.ProxyHandlers.Create(TimeSpan.FromSeconds(5));
        handler.SslOptions = CreateClientOptions(certificates, validator, expectedServer);
        // Bounds how long a connection keeps the certificates it was made with.
        handler.PooledConnectionLifetime = pooledConnectionLifetime ?? TimeSpan.FromMinutes(10);
        return handler;
    }
}

/// <summary>
/// One mTLS invoker per destination service, created on first use (for IHttpForwarder: pass
/// <c>For(serverId)</c> as the invoker of a request to that service).
/// </summary>
internal sealed class MeshUpstreamClients(IWorkloadCertificateSource certificates, PeerCertificateValidator validator, TimeSpan? pooledConnectionLifetime = null) : IDisposable
{
    private readonly ConcurrentDictionary<SpiffeId, Lazy<HttpMessageInvoker>> _invokers = new();

    // Looked up first: GetOrAdd's factory closes over this object, a delegate per call on the request path.
    public HttpMessageInvoker For(SpiffeId server) =>
        (_invokers.TryGetValue(server, out var invoker) ? invoker : Add(server)).Value;

    private Lazy<HttpMessageInvoker> Add(SpiffeId server) =>
        _invokers.GetOrAdd(server, id => new Lazy<HttpMessageInvoker>(
            () => new HttpMessageInvoker(MeshTlsOptions.CreateHandler(certificates, validator, id, pooledConnectionLifetime), disposeHandler: true)));

    public void Dispose()
    {
        foreach (var invoker in _invokers.Values)
        {
            if (invoker.IsValueCreated)
                invoker.Value.Dispose();
        }
    }
}
