// The sidecar's instruments on the meter "Mesh.Sidecar". Request durations follow the OpenTelemetry
// HTTP conventions (inbound: http.server.request.duration, outbound: http.client.request.duration,
// seconds) with bounded labels only: route and service names come from configuration, never from
// the request. State (endpoints, health, config index, certificate expiry) is read when scraped.
using System.Diagnostics.Metrics;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;

namespace Mesh.Sidecar.Telemetry;

internal sealed class SidecarMetrics : IDisposable
{
    public const string MeterName = "Mesh.Sidecar";
    public const string ServerDurationName = "http.server.request.duration";
    public const string ClientDurationName = "http.client.request.duration";
    public const string RetriesName = "mesh.sidecar.retries";
    public const string BudgetExhaustedName = "mesh.sidecar.retry_budget.exhausted";
    public const string EjectionsName = "mesh.sidecar.outlier.ejections";
    public const string EndpointsName = "mesh.sidecar.endpoints";
    public const string ActiveRequestsName = "mesh.sidecar.outbound.active_requests";

    // Sub-millisecond buckets: a hop costs tens of microseconds, a slow upstream seconds.
    private static readonly InstrumentAdvice<double> DurationAdvice = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public SidecarMetrics(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        ServerDuration = _meter.CreateHistogram(ServerDurationName, "s", "Inbound requests: from arrival at the inbound listener to the end of the response.", null, DurationAdvice);
        ClientDuration = _meter.CreateHistogram(ClientDurationName, "s", "Outbound requests from the local app, over all attempts.", null, DurationAdvice);
        ProxyErrors = _meter.CreateCounter<long>("mesh.sidecar.proxy.errors", "{request}", "Requests the sidecar answered itself with x-mesh-error.");
        Retries = _meter.CreateCounter<long>(RetriesName, "{retry}", "Retries sent (each beyond the first attempt).");
        BudgetExhausted = _meter.CreateCounter<long>(BudgetExhaustedName, "{retry}", "Retries refused because the retry budget was spent.");
        Ejections = _meter.CreateCounter<long>(EjectionsName, "{ejection}", "Endpoints ejected by outlier detection.");
        ConnectionErrors = _meter.CreateCounter<long>("mesh.sidecar.connection.errors", "{connection}", "Connections that broke before or outside a request (reset before the first byte, failed TLS handshake, reset in a connection middleware), by listener and kind.");
        AccessLogDropped = _meter.CreateCounter<long>("mesh.sidecar.access_log.dropped", "{line}", "Access log lines dropped because the writer fell behind.");
    }

    public Histogram<double> ServerDuration { get; }

    public Histogram<double> ClientDuration { get; }

    public Counter<long> ProxyErrors { get; }

    public Counter<long> Retries { get; }

    public Counter<long> BudgetExhausted { get; }

    public Counter<long> Ejections { get; }

    public Counter<long> AccessLogDropped { get; }

    public Counter<long> ConnectionErrors { get; }

    /// <summary>Observable gauges over the sidecar's state; each callback runs only on a scrape.</summary>
    public void Bind(SidecarState state, EndpointCatalog catalog, Func<DateTimeOffset?> certificateNotAfter, TimeProvider timeProvider)
    {
        _meter.CreateObservableGauge(EndpointsName, () => Endpoints(catalog), "{endpoint}", "Endpoints per destination service by health (healthy, ejected).");
        _meter.CreateObservableGauge(ActiveRequestsName, () => ActiveRequests(catalog), "{request}", "Outbound requests in flight per destination service.");
        _meter.CreateObservableGauge("mesh.sidecar.config.routes_index", () => state.Routes.Index, null, "Registry index of the route set applied (0: static routes).");
        _meter.CreateObservableGauge("mesh.sidecar.config.routes_rejected", () => state.RouteRejections.Count, null, "Route documents (or whole route sets) refused and not in effect.");
        _meter.CreateObservableGauge("mesh.sidecar.ready", () => state.IsReady ? 1 : 0, null, "1 while /readyz answers 200.");
        _meter.CreateObservableGauge("mesh.sidecar.certificate.expiry", () => CertificateExpiry(certificateNotAfter, timeProvider), "s", "Seconds until the workload certificate expires (absent without mTLS).");
    }

    private static IEnumerable<Measurement<int>> Endpoints(EndpointCatalog catalog)
    {
        foreach (var cluster in catalog.Clusters)
        {
            var snapshot = cluster.Snapshot;
            var healthy = snapshot.Healthy.Count;
            yield return new Measurement<int>(healthy, new("destination_service", cluster.Service), new("health", "healthy"));
            yield return new Measurement<int>(snapshot.All.Length - healthy, new("destination_service", cluster.Service), new("health", "ejected"));
        }
    }

    private static IEnumerable<Measurement<int>> ActiveRequests(EndpointCatalog catalog)
    {
        foreach (var cluster in catalog.Clusters)
        {
            var active = 0;
            foreach (var endpoint in cluster.Snapshot.All)
                active += Volatile.Read(ref endpoint.ActiveRequests);
            yield return new Measurement<int>(active, new KeyValuePair<string, object?>("destination_service", cluster.Service));
        }
    }

    private static IEnumerable<Measurement<double>> CertificateExpiry(Func<DateTimeOffset?> notAfter, TimeProvider timeProvider)
    {
        if (notAfter() is { } expiry)
            yield return new Measurement<double>((expiry - timeProvider.GetUtcNow()).TotalSeconds);
    }

    public void Dispose()
    {
        if (_ownsMeter)
            _meter.Dispose();
    }
}
