// Decides whether a peer's certificate is a mesh workload certificate: it chains to a root in
// the trust bundle (custom root trust: the system store plays no part), is valid now, is for the
// right use (client auth inbound, server auth outbound), is not a CA, and names exactly one
// SPIFFE id in our trust domain — and, outbound, the id of the service we meant to call.
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;

namespace Mesh.Sidecar.Security;

/// <summary>Which side of the handshake the peer is on.</summary>
public enum PeerRole
{
    /// <summary>The peer is a client calling our inbound listener.</summary>
    Client,

    /// <summary>The peer is the server we connect to.</summary>
    Server,
}

/// <summary>The result of validating a peer: its id when valid, the reason otherwise.</summary>
public readonly record struct PeerValidation(bool IsValid, SpiffeId? Identity, string Reason)
{
    internal static PeerValidation Fail(string reason) => new(false, null, reason);
}

public sealed class PeerCertificateValidator
{
    private static readonly System.Security.Cryptography.Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly System.Security.Cryptography.Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private TrustBundle _trust;
    private readonly IWorkloadCertificateSource? _local;
    private readonly TimeProvider _time;

    /// <param name="trust">The mesh roots and trust domain.</param>
    /// <param name="local">
    /// This sidecar's own certificate source: its intermediates are offered when building the peer's
    /// chain, since one mesh CA signs every workload (peers may send only their leaf).
    /// </param>
    public PeerCertificateValidator(TrustBundle trust, IWorkloadCertificateSource? local = null, TimeProvider? time = null)
    {
        _trust = trust;
        _local = local;
        _time = time ?? TimeProvider.System;
    }

    public TrustBundle Trust => Volatile.Read(ref _trust);

    /// <summary>
    /// Replaces the roots peers must chain to (a root rotation published by the registry), for
    /// every handshake from now on. The trust domain cannot change under a running sidecar: an
    /// identity's meaning would change with it.
    /// </summary>
    /// <returns>False when <paramref name="trust"/> is for another trust domain (nothing changes).</returns>
    public bool UpdateTrust(TrustBundle trust)
    {
        if (trust.TrustDomain != Trust.TrustDomain)
            return false;
        Volatile.Write(ref _trust, trust);
        return true;
    }

    /// <summary>Raised for every refused peer certificate, with the reason (for logs).</summary>
    public event Action<PeerRole, string>? Rejected;

    /// <summary>
    /// Raised when a server's certificate is a valid mesh certificate but names another identity
    /// than the one the service's owner allows (expected, presented): a secure naming refusal.
    /// </summary>
    public event Action<SpiffeId, SpiffeId>? IdentityMismatch;

    /// <param name="presented">The chain SslStream built; its extra store holds what the peer sent.</param>
    /// <param name="expected">Outbound: the service we meant to reach; null accepts any mesh id.</param>
    public PeerValidation Validate(X509Certificate? certificate, X509Chain? presented, PeerRole role, SpiffeId? expected = null)
    {
        var result = ValidateCore(certificate, presented, role, expected);
        if (!result.IsValid)
            Rejected?.Invoke(role, result.Reason);
        return result;
    }

    private PeerValidation ValidateCore(X509Certificate? certificate, X509Chain? presented, PeerRole role, SpiffeId? expected)
    {
        if (certificate is null)
            return PeerValidation.Fail("no certificate");

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (leaf.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true })
            return PeerValidation.Fail("the certificate is a CA certificate, not a workload certificate");

        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(Trust.Roots);
        policy.RevocationMode = X509RevocationMode.NoCheck; // short lifetimes instead of revocation
        policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        policy.ApplicationPolicy.Add(role == PeerRole.Client ? ClientAuth : ServerAuth);
        if (presented is not null)
        {
            policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                    policy.ExtraStore.Add(element.Certificate);
            }
        }

        if (_local is not null)
            policy.ExtraStore.AddRange(_local.Current.Chain);

        if (!chain.Build(leaf))
        {
            var problems = chain.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError)
                .Select(s => s.Status.ToString()).Distinct();
            return PeerValidation.Fail($"certificate does not chain to the mesh root ({string.Join(", ", problems)})");
        }

        var uris = WorkloadCertificate.EnumerateUriNames(leaf);
        if (WorkloadCertificate.TryReadSpiffeId(leaf) is not { } id)
        {
            return PeerValidation.Fail(uris.Count == 0
                ? "certificate has no SPIFFE id"
                : $"certificate has no single valid SPIFFE id (URI SANs: {string.Join(", ", uris)})");
        }

        if (id.TrustDomain != Trust.TrustDomain)
            return PeerValidation.Fail($"'{id}' is not in trust domain '{Trust.TrustDomain}'");
        if (expected is { } want && id != want)
        {
            IdentityMismatch?.Invoke(want, id);
            return PeerValidation.Fail($"server is '{id}', expected '{want}'");
        }
        return new PeerValidation(true, id, "ok");
    }
}
