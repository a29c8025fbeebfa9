// The security counters of a sidecar, on the meter "Mesh.Sidecar.Security" (add it to the
// OpenTelemetry meter provider to export them). A SidecarSecurity is made before its host, so the
// host moves the counters onto a meter from its own IMeterFactory when it starts
// (UseMeterFactory): with several sidecars in one process each /metrics shows only its own.
using System.Diagnostics.Metrics;

namespace Mesh.Sidecar.Security;

internal sealed class SecurityMetrics : IDisposable
{
    public const string MeterName = "Mesh.Sidecar.Security";
    public const string DeniedName = "mesh.sidecar.authz.denied";
    public const string IdentityMismatchName = "mesh.sidecar.tls.peer_identity_mismatch";

    private readonly Lock _lock = new();
    private Instruments _instruments;
    private IMeterFactory? _meterFactory;

    public SecurityMetrics(IMeterFactory? meterFactory = null)
    {
        _meterFactory = meterFactory;
        _instruments = new Instruments(meterFactory);
    }

    /// <summary>
    /// Records from now on on a meter of <paramref name="meterFactory"/> (the host's), so only the
    /// meter provider of that host exports them. Counts recorded before are not carried over.
    /// </summary>
    public void UseMeterFactory(IMeterFactory meterFactory)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_meterFactory, meterFactory))
                return;
            _meterFactory = meterFactory;
            var previous = Interlocked.Exchange(ref _instruments, new Instruments(meterFactory));
            previous.Dispose();
        }
    }

    public void PlaintextRequest(string service) => Volatile.Read(ref _instruments).Plaintext.Add(1, new KeyValuePair<string, object?>("service", service));

    public void Denied(string service, string rule) =>
        Volatile.Read(ref _instruments).Denied.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("rule", rule));

    /// <summary>A server of <paramref name="service"/> presented a mesh certificate for another identity than its owner allows.</summary>
    public void PeerIdentityMismatch(string service, string peerNamespace)
    {
        Interlocked.Increment(ref _identityMismatches);
        Volatile.Read(ref _instruments).IdentityMismatch.Add(1,
            new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("peer_namespace", peerNamespace));
    }

    /// <summary>Secure naming refusals since start (also exported as <c>mesh_sidecar_tls_peer_identity_mismatch_total</c>).</summary>
    public long PeerIdentityMismatches => Interlocked.Read(ref _identityMismatches);

    private long _identityMismatches;

    public void Dispose() => Volatile.Read(ref _instruments).Dispose();

    private sealed class Instruments : IDisposable
    {
        private readonly Meter _meter;

        public Instruments(IMeterFactory? meterFactory)
        {
            _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
            Plaintext = _meter.CreateCounter<long>("mesh.sidecar.inbound.plaintext_requests", "{request}", "Inbound requests that arrived without TLS (permissive mode).");
            Denied = _meter.CreateCounter<long>(DeniedName, "{request}", "Inbound requests refused by authorization policy.");
            IdentityMismatch = _meter.CreateCounter<long>(IdentityMismatchName, "{handshake}",
                "Outbound TLS handshakes refused because the server's SPIFFE id is not the one the service's owner allows (secure naming).");
        }

        public Counter<long> IdentityMismatch { get; }

        public Counter<long> Plaintext { get; }

        public Counter<long> Denied { get; }

        public void Dispose() => _meter.Dispose();
    }
}
