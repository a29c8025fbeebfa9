// The stages of one sidecar as singletons of its host's service collection. The container owns
// them: it builds each on first use, after Build, so the stages that need the app's
// ILoggerFactory or IMeterFactory get this host's own, and disposes them with the app.
using Mesh.Sidecar.Admin;
using Mesh.Sidecar.Connections;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Forwarder;
using Mesh.Sidecar.Inbound;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.Interception;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Mesh.Sidecar.RateLimiting;
using Mesh.Sidecar.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using IMeterFactory = System.Diagnostics.Metrics.IMeterFactory;

namespace Mesh.Sidecar.Hosting;

public sealed partial class SidecarHost
{
    /// <summary>The category of the sidecar's own log lines (start, drain, routes, discovery).</summary>
    private const string LogCategory = "Mesh.Sidecar";

    private void AddStages(IServiceCollection services, SidecarTracing tracing)
    {
        var time = _options.TimeProvider;
        var random = _options.Random ?? Random.Shared;
        services.AddSingleton(_state);
        services.AddSingleton(_ownConnections);
        services.AddSingleton(sp => new EndpointCatalog(
            _options.EndpointSource ?? new StaticEndpointSource(_config.Endpoints), time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory)));
        services.AddSingleton(sp => new SidecarRateLimits(_config.RateLimits, _options.RateLimitShare, time, meterFactory: sp.GetService<IMeterFactory>()));
        services.AddSingleton(sp => new RouteCompiler(_config.Defaults, sp.GetRequiredService<EndpointCatalog>(),
            LoadBalancingPolicies.CreateAll(random), time, sp.GetRequiredService<SidecarRateLimits>()));
        services.AddSingleton(_ => new ForwarderClients(_config));
        services.AddSingleton(sp =>
        {
            var telemetry = new SidecarTelemetry(_config, time, sp.GetService<IMeterFactory>(), tracing: tracing);
            telemetry.Bind(_state, sp.GetRequiredService<EndpointCatalog>());
            telemetry.CertificateNotAfter = () => Security?.CertificateExpiresAt;
            return telemetry;
        });
        services.AddSingleton(sp => new ConnectionNoise(time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Mesh.Sidecar.Connections"), sp.GetRequiredService<SidecarTelemetry>().ConnectionError));
        services.AddSingleton(_ => new InterceptedDestinations(_config.Interception.Services, KnownEndpoints));
        services.AddSingleton(sp => new HttpPassthrough(sp.GetRequiredService<IHttpForwarder>(), _ownConnections, _config.Upstream.ConnectTimeout));
        services.AddSingleton(sp =>
        {
            var telemetry = sp.GetRequiredService<SidecarTelemetry>();
            return new OutboundHandler(_state, sp.GetRequiredService<IHttpForwarder>(), sp.GetRequiredService<ForwarderClients>(),
                new RetryBudget(_config.Defaults.RetryBudget, time, telemetry), new OutlierDetector(time, telemetry), new EndpointPicker(random),
                sp.GetRequiredService<EndpointCatalog>(), telemetry, Security,
                sp.GetRequiredService<InterceptedDestinations>(), sp.GetRequiredService<HttpPassthrough>());
        });
        services.AddSingleton(sp => new InboundHandler(_state, sp.GetRequiredService<IHttpForwarder>(), sp.GetRequiredService<ForwarderClients>(),
            sp.GetRequiredService<SidecarTelemetry>(), Security, sp.GetRequiredService<SidecarRateLimits>().Inbound));
        services.AddSingleton(_ => new AppHealthProbes(_config.AppProbes));
        services.AddSingleton(sp => new AdminHandler(_config, _state, sp.GetRequiredService<EndpointCatalog>(), time,
            TelemetryServices.MetricsEndpoint(_app!, _config), Security, sp.GetRequiredService<AppHealthProbes>(), sp.GetRequiredService<SidecarRateLimits>()));
    }
}
