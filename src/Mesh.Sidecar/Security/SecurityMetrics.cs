// The security counters of a sidecar, on the meter "Mesh.Sidecar.Security" (add it to the
// OpenTelemetry meter provider to export them). A SidecarSecurity is made before its host, so the
// host moves the counters onto a meter from its own IMeterFactory when it starts
// (UseMeterFactory): with several sidecars in one process each /metrics shows only its own.
using System.Diagnostics.Metrics;

namespace Mesh.Sidecar.Security;

public sealed class SecurityMetrics : IDisposable
{
    public const string MeterName = "Mesh.Sidecar.Security";

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

    public void Dispose() => Volatile.Read(ref _instruments).Dispose();

    private sealed class Instruments : IDisposable
    {
        private readonly Meter _meter;

        public Instruments(IMeterFactory? meterFactory)
        {
            _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
            Plaintext = _meter.CreateCounter<long>("mesh.sidecar.inbound.plaintext_requests", "{request}", "Inbound requests that arrived without TLS (permissive mode).");
            Denied = _meter.CreateCounter<long>("mesh.sidecar.authz.denied", "{request}", "Inbound requests refused by authorization policy.");
        }

        public Counter<long> Plaintext { get; }

        public Counter<long> Denied { get; }

        public void Dispose() => _meter.Dispose();
    }
}
