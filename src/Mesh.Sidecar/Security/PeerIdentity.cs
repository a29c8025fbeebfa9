// How request code learns who is calling: the SPIFFE id in the client certificate the inbound
// listener already validated during the handshake. Parsed once per certificate (which Kestrel
// keeps per connection), not once per request.
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Sidecar.Security;

internal static class PeerIdentity
{
    private static readonly ConditionalWeakTable<X509Certificate2, Caller> Parsed = [];

    /// <summary>The SPIFFE id in <paramref name="certificate"/>'s URI SAN, or null.</summary>
    public static SpiffeId? FromCertificate(X509Certificate2? certificate) =>
        certificate is null ? null : Parse(certificate).Id;

    /// <summary>The caller's SPIFFE id as text (for <c>x-mesh-caller</c>), formatted once per certificate, or null.</summary>
    public static string? GetCallerText(this HttpContext context) =>
        context.Connection.ClientCertificate is { } certificate ? Parse(certificate).Text : null;

    private static Caller Parse(X509Certificate2 certificate) =>
        Parsed.GetValue(certificate, static c => new Caller(WorkloadCertificate.TryReadSpiffeId(c)));

    /// <summary>The caller's SPIFFE id, or null for a plaintext (permissive) caller or one without a certificate.</summary>
    public static SpiffeId? GetCallerIdentity(this HttpContext context) => FromCertificate(context.Connection.ClientCertificate);

    /// <summary>True when the request came over a connection without TLS (possible only in permissive mode).</summary>
    public static bool IsPlaintext(this HttpContext context) => context.Features.Get<ITlsConnectionFeature>() is null;

    private sealed class Caller(SpiffeId? id)
    {
        public SpiffeId? Id { get; } = id;

        public string? Text { get; } = id?.ToString();
    }
}
