// Everything a running sidecar needs for mTLS, in one object the host consults when tls is on:
// the trust bundle, the rotating workload certificate, the peer validator, one mTLS invoker per
// destination identity (so an impostor's valid certificate for another service is refused), and
// inbound authorization. SidecarHost leaves the plaintext path untouched when this is null.
using System.Net;
using System.Text.Json;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Connections;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Security;

public sealed class SidecarSecurity : IAsyncDisposable
{
    /// <summary>Set by the inbound sidecar on requests to its app: the caller's validated SPIFFE id (any incoming value is removed).</summary>
    public const string CallerHeader = "x-mesh-caller";

    /// <summary>On a 403 from the inbound authorization policy: which rule (or none) said no.</summary>
    public const string DeniedReasonHeader = InboundAuthorization.DeniedReasonHeader;

    /// <inheritdoc cref="MeshEndpoint.NamespaceLabel"/>
    public const string NamespaceLabel = MeshEndpoint.NamespaceLabel;

    private readonly IAsyncDisposable? _owned;
    private int _trustUpdates;
    private long _plaintextRequests;
    private long _tls13Requests;
    private long _otherTlsRequests;
    private long _http2Requests;

    /// <param name="owned">Disposed with this object (e.g. the certificate rotator).</param>
    internal SidecarSecurity(
        MeshTlsMode mode, TrustBundle trust, IWorkloadCertificateSource certificates, SpiffeId identity,
        AuthorizationPolicySet? policies = null, TimeProvider? time = null, IAsyncDisposable? owned = null)
    {
        Mode = mode;
        Certificates = certificates;
        Identity = identity;
        Validator = new PeerCertificateValidator(trust, certificates, time);
        Upstreams = new MeshUpstreamClients(certificates, Validator);
        Metrics = new SecurityMetrics();
        Validator.IdentityMismatch += (expected, presented) => Metrics.PeerIdentityMismatch(expected.Service, presented.Namespace);
        Authorization = new InboundAuthorization(identity.Service, Metrics, policies);
        _owned = owned;
    }

    public MeshTlsMode Mode { get; }

    /// <summary>The roots peers chain to now; <see cref="RefreshTrust"/> replaces them.</summary>
    public TrustBundle Trust => Validator.Trust;

    /// <summary>Times the trust bundle changed since start.</summary>
    public int TrustUpdates => _trustUpdates;

    /// <summary>
    /// Takes the registry's current trust bundle (GET /v1/ca/root) if its roots differ from ours.
    /// Returns true when they did and were taken; false when nothing changed or the bundle is for
    /// another trust domain (refused: the sidecar keeps its roots).
    /// </summary>
    public bool RefreshTrust(TrustBundle latest)
    {
        var current = Validator.Trust;
        if (latest.TrustDomain == current.TrustDomain
            && latest.Roots.Select(r => r.Thumbprint).Order().SequenceEqual(current.Roots.Select(r => r.Thumbprint).Order()))
            return false;
        if (!Validator.UpdateTrust(latest))
            return false;
        Interlocked.Increment(ref _trustUpdates);
        return true;
    }

    public IWorkloadCertificateSource Certificates { get; }

    /// <summary>This sidecar's SPIFFE id.</summary>
    public SpiffeId Identity { get; }

    internal PeerCertificateValidator Validator { get; }

    internal MeshUpstreamClients Upstreams { get; }

    internal InboundAuthorization Authorization { get; }

    internal SecurityMetrics Metrics { get; }

    /// <summary>Sidecar to sidecar: HTTP/2 when ALPN agrees (it does between sidecars), else HTTP/1.1.</summary>
    internal ForwarderRequestConfig UpstreamRequest { get; } = new()
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromSeconds(100),
    };

    /// <summary>When the certificate presented now expires (telemetry exports the seconds left).</summary>
    public DateTimeOffset CertificateExpiresAt => Certificates.Current.NotAfter;

    /// <summary>Certificates issued so far (1 after start, +1 per rotation), when the source is a rotator.</summary>
    public int CertificateRotations => Certificates is CertificateRotator rotator ? rotator.Rotations : 1;

    /// <summary>
    /// The id a destination endpoint must present (secure naming): the service's, in the namespace
    /// its source vouches for (the registry's owner record of the service), else in ours.
    /// </summary>
    internal SpiffeId ExpectedServer(string service, MeshEndpoint endpoint) =>
        SpiffeId.Create(Trust.TrustDomain, endpoint.IdentityNamespace ?? Identity.Namespace, service);

    /// <summary>The mTLS invoker for a call to <paramref name="endpoint"/> of <paramref name="service"/>.</summary>
    internal HttpMessageInvoker UpstreamFor(string service, MeshEndpoint endpoint) => Upstreams.For(ExpectedServer(service, endpoint));

    /// <summary>Inbound requests that came over TLS 1.3 (mutually authenticated).</summary>
    public long InboundTls13Requests => Interlocked.Read(ref _tls13Requests);

    /// <summary>Inbound requests that came in plaintext (permissive mode only).</summary>
    public long InboundPlaintextRequests => Interlocked.Read(ref _plaintextRequests);

    /// <summary>Counts the request by transport (shown in /config_dump).</summary>
    internal void CountInbound(HttpContext context)
    {
        if (HttpProtocol.IsHttp2(context.Request.Protocol))
            Interlocked.Increment(ref _http2Requests);
        // The protocol as read at the handshake: the live TLS feature throws once the connection is gone.
        var tls = context.Features.Get<Mesh.Sidecar.Connections.ConnectionNoise.NegotiatedTls>();
        if (tls is null)
            Interlocked.Increment(ref _plaintextRequests);
        else if (tls.Protocol == System.Security.Authentication.SslProtocols.Tls13)
            Interlocked.Increment(ref _tls13Requests);
        else
            Interlocked.Increment(ref _otherTlsRequests);
    }

    /// <summary>The "tls" object of /config_dump.</summary>
    internal void WriteConfigDump(Utf8JsonWriter json, TimeProvider time)
    {
        json.WriteString("mode", Mode == MeshTlsMode.Strict ? "strict" : "permissive");
        json.WriteString("identity", Identity.ToString());
        json.WriteString("trustDomain", Trust.TrustDomain);
        var expires = CertificateExpiresAt;
        json.WriteString("certificateExpiresAt", expires.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteNumber("certificateExpiresInSeconds", Math.Round((expires - time.GetUtcNow()).TotalSeconds, 3));
        json.WriteNumber("certificateRotations", CertificateRotations);
        json.WriteNumber("trustedRoots", Trust.Roots.Count);
        json.WriteStartObject("inboundRequests");
        json.WriteNumber("tls13", Interlocked.Read(ref _tls13Requests));
        json.WriteNumber("otherTls", Interlocked.Read(ref _otherTlsRequests));
        json.WriteNumber("plaintext", Interlocked.Read(ref _plaintextRequests));
        json.WriteNumber("http2", Interlocked.Read(ref _http2Requests));
        json.WriteEndObject();
        json.WriteBoolean("authorizationPolicy", Authorization.Policies.HasPolicy(Authorization.Service));
        json.WriteNumber("peerIdentityMismatches", Metrics.PeerIdentityMismatches);
    }

    public async ValueTask DisposeAsync()
    {
        Upstreams.Dispose();
        Metrics.Dispose();
        if (_owned is not null)
            await _owned.DisposeAsync().ConfigureAwait(false);
    }
}
