// Composes the sidecar's rate limits: the inbound policy (`rateLimits.inbound`), client-side
// limits per destination service (`rateLimits.outbound`) and each route's own `rateLimit`, and
// hands each route the stage it runs. Route limits survive recompiles (an endpoint change
// recompiles every route) as long as their options are unchanged, so counts are never reset by
// discovery. Mesh-wide limits follow the MeshShare.
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.RateLimiting;

internal sealed class SidecarRateLimits : IDisposable
{
    private readonly TimeProvider _time;
    private readonly MeshShare _share;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RateLimitStrategy> _upstream = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RateLimitStrategy> _routes = new(StringComparer.Ordinal);
    private readonly List<RateLimitStrategy> _all = [];
    private readonly RateLimitMetrics? _ownMetrics;

    /// <param name="meterFactory">The host's, so that with several sidecars in one process each exports only its own counts.</param>
    public SidecarRateLimits(RateLimitsConfig config, MeshShare? share, TimeProvider time, IRateLimitTelemetry? telemetry = null, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        _time = time;
        _share = share ?? new MeshShare();
        Telemetry = telemetry ?? (_ownMetrics = new RateLimitMetrics(meterFactory));
        foreach (var (service, options) in config.Outbound)
            _upstream[service] = Track(new RateLimitStrategy(options, time, _share.Value));
        if (config.Inbound.Count > 0)
        {
            Inbound = new RateLimitStage(
                RateLimitStage.Inbound,
                [.. config.Inbound.Select(l => new RateLimitStage.Entry(Track(new RateLimitStrategy(l.Limit, time, _share.Value)), l.PathPrefix, l.Methods.Count > 0 ? [.. l.Methods] : null))],
                Telemetry);
        }
        _share.Changed += OnShareChanged;
        ReportShare();
    }

    /// <summary>The share mesh-wide limits scale by now (1 until membership is known).</summary>
    public double Share => _share.Value;

    /// <summary>The configured client-side limits per destination service, with the strategy in force.</summary>
    public IEnumerable<KeyValuePair<string, RateLimitStrategy>> Upstream
    {
        get
        {
            lock (_lock)
                return [.. _upstream.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase)];
        }
    }

    public IRateLimitTelemetry Telemetry { get; }

    /// <summary>The inbound policy's stage; null when there is none.</summary>
    public RateLimitStage? Inbound { get; }

    /// <summary>The stage for a route: its own limit, then the client-side limits of the services it reaches. Null: none.</summary>
    public RateLimitStage? ForRoute(RouteConfig route, IEnumerable<string> services)
    {
        var entries = new List<RateLimitStage.Entry>();
        lock (_lock)
        {
            if (route.RateLimit is { } options)
            {
                options = options with { Name = route.Name };
                if (!_routes.TryGetValue(route.Name, out var strategy) || strategy.Options != options)
                {
                    // The old strategy stays usable for requests of the old table; it just stops ticking.
                    if (strategy is not null)
                    {
                        strategy.Retire();
                        _all.Remove(strategy);
                    }
                    _routes[route.Name] = strategy = Track(new RateLimitStrategy(options, _time, _share.Value));
                }
                entries.Add(new RateLimitStage.Entry(strategy));
            }
            foreach (var service in services.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (_upstream.TryGetValue(service, out var upstream))
                    entries.Add(new RateLimitStage.Entry(upstream));
            }
        }
        ReportShare();
        return entries.Count == 0 ? null : new RateLimitStage(RateLimitStage.Outbound, entries, Telemetry);
    }

    private RateLimitStrategy Track(RateLimitStrategy strategy)
    {
        lock (_lock)
            _all.Add(strategy);
        return strategy;
    }

    private void OnShareChanged(double share)
    {
        lock (_lock)
        {
            foreach (var strategy in _all)
                strategy.SetShare(share);
        }
        ReportShare();
    }

    // The gauge says what scales this sidecar's limits: the mesh share while some limit is
    // mesh-wide, else 1 (a local limit is enforced in full whatever the membership).
    private void ReportShare()
    {
        bool anyMeshWide;
        lock (_lock)
            anyMeshWide = _all.Exists(s => s.Options.MeshWide);
        Telemetry.ShareChanged(anyMeshWide ? _share.Value : 1);
    }

    public void Dispose()
    {
        _share.Changed -= OnShareChanged;
        lock (_lock)
        {
            foreach (var strategy in _all)
                strategy.Dispose();
            _all.Clear();
        }
        _ownMetrics?.Dispose();
    }
}
