// Turns route documents into a RouteTable: applies defaults, binds backends to clusters, builds
// each route's resilience pipeline (so bad options fail here, not on the first request), groups
// routes per host and adds an implicit catch-all route for every known service.
using System.Collections.Frozen;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.RateLimiting;

namespace Mesh.Sidecar.Outbound.Routing;

internal sealed class RouteCompiler(
    RouteDefaults defaults,
    EndpointCatalog catalog,
    FrozenDictionary<string, ILoadBalancingPolicy> policies,
    TimeProvider timeProvider,
    SidecarRateLimits? rateLimits = null)
{
    public RouteTable Compile(RouteSnapshot snapshot)
    {
        var routes = new List<CompiledRoute>();
        foreach (var config in snapshot.Routes)
            routes.Add(CompileRoute(config, isImplicit: false));

        var byAuthority = new Dictionary<string, List<CompiledRoute>>(StringComparer.OrdinalIgnoreCase);
        var byHost = new Dictionary<string, List<CompiledRoute>>(StringComparer.OrdinalIgnoreCase);
        foreach (var route in routes)
        {
            foreach (var host in route.Config.Match.Hosts.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                var table = host.Contains(':') && !host.StartsWith('[') || host.Contains("]:") ? byAuthority : byHost;
                var key = table == byHost ? host.Trim('[', ']') : host;
                if (!table.TryGetValue(key, out var list))
                    table[key] = list = [];
                list.Add(route);
            }
        }

        // Each host's list is built in declaration order, with any-host routes in their place.
        var anyHost = routes.Where(r => r.Config.Match.Hosts.Count == 0).ToList();
        Dictionary<string, CompiledRoute[]> Merge(Dictionary<string, List<CompiledRoute>> table) =>
            table.ToDictionary(
                p => p.Key,
                p => routes.Where(r => p.Value.Contains(r) || r.Config.Match.Hosts.Count == 0).ToArray(),
                StringComparer.OrdinalIgnoreCase);
        var authorityRoutes = Merge(byAuthority);
        var hostRoutes = Merge(byHost);

        // A host naming a known service reaches all of it without a route document. Routes that
        // name the host own it: a request none of them matches is "no-route", not a fallback.
        var all = new List<CompiledRoute>(routes);
        foreach (var cluster in catalog.Clusters)
        {
            if (hostRoutes.ContainsKey(cluster.Service))
                continue;
            var implicitRoute = CompileRoute(new RouteConfig { Name = "service:" + cluster.Service, Service = cluster.Service }, isImplicit: true);
            all.Add(implicitRoute);
            hostRoutes[cluster.Service] = [.. anyHost, implicitRoute];
        }
        return new RouteTable(snapshot.Index, all, authorityRoutes, hostRoutes, [.. anyHost]);
    }

    private CompiledRoute CompileRoute(RouteConfig config, bool isImplicit)
    {
        var backends = config.Split.Count > 0
            ? config.Split.Select(s => new RouteBackend(s.Service.Length > 0 ? s.Service : config.Service!, s.Version, s.Weight, catalog.GetOrWatch(s.Service.Length > 0 ? s.Service : config.Service!))).ToArray()
            : [new RouteBackend(config.Service!, null, 1, catalog.GetOrWatch(config.Service!))];
        var timeout = config.Timeout ?? defaults.Timeout;
        var retries = config.Retries ?? defaults.Retries;
        var policyName = config.LoadBalancing ?? defaults.LoadBalancing;
        if (!policies.TryGetValue(policyName, out var policy))
            policy = policies[LoadBalancingPolicyNames.WeightedRandom];
        return new CompiledRoute(
            config,
            isImplicit,
            backends,
            timeout,
            retries,
            config.OutlierDetection ?? defaults.OutlierDetection,
            policy,
            ResiliencePipelines.Create(retries, timeProvider))
        {
            Deadline = ResiliencePipelines.Deadline(timeout, timeProvider),
            RateLimits = rateLimits?.ForRoute(config, backends.Select(b => b.Service)),
        };
    }
}
