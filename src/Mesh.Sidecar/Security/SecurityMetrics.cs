// The security counters of a sidecar, on the meter "Mesh.Sidecar.Security" (add it to the
// OpenTelemetry meter provider to export them).
using System.Diagnostics.Metrics;

namespace Mesh.Sidecar.Security;

public sealed class SecurityMetrics : IDisposable
{
    public const string MeterName = "Mesh.Sidecar.Security";

    private readonly Meter _meter;
    private readonly Counter<long> _plaintext;
    private readonly Counter<long> _denied;

    public SecurityMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _plaintext = _meter.CreateCounter<long>("mesh.sidecar.inbound.plaintext_requests", "{request}", "Inbound requests that arrived without TLS (permissive mode).");
        _denied = _meter.CreateCounter<long>("mesh.sidecar.authz.denied", "{request}", "Inbound requests refused by authorization policy.");
    }

    public void PlaintextRequest(string service) => _plaintext.Add(1, new KeyValuePair<string, object?>("service", service));

    public void Denied(string service, string rule) =>
        _denied.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("rule", rule));

    public void Dispose() => _meter.Dispose();
}
