// The admin listener: liveness (/healthz), readiness (/readyz: routes loaded, registered when
// required, not draining) and /config_dump, the effective routes, clusters and endpoints with
// weights and health, as JSON; /metrics (Prometheus text) when metrics are on; /app-health/{name},
// the app's own kubelet probes listed in `appProbes:` (AppHealthProbes).
using System.Text.Json;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Outbound.Routing;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Admin;

internal sealed class AdminHandler(SidecarConfig config, SidecarState state, EndpointCatalog catalog, TimeProvider timeProvider, RequestDelegate? metrics = null, Security.SidecarSecurity? security = null, AppHealthProbes? appProbes = null, RateLimiting.SidecarRateLimits? rateLimits = null)
{
    public Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                return Text(response, StatusCodes.Status200OK, "ok");
            case "/readyz":
                return state.IsReady
                    ? Text(response, StatusCodes.Status200OK, "ready")
                    : Text(response, StatusCodes.Status503ServiceUnavailable, state.IsDraining ? "draining" : "not ready");
            case "/config_dump":
                response.ContentType = "application/json";
                return WriteConfigDumpAsync(response.Body, context.RequestAborted);
            case "/metrics" when metrics is not null:
                return metrics(context);
            case { } path when appProbes is not null && path.StartsWith(AppHealthProbes.PathPrefix, StringComparison.Ordinal):
                return appProbes.HandleAsync(context, path[AppHealthProbes.PathPrefix.Length..]);
            default:
                return Text(response, StatusCodes.Status404NotFound, "not found; try /healthz, /readyz, /config_dump, /metrics, /app-health/{name}");
        }
    }

    private static Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text + "\n");
    }

    internal async Task WriteConfigDumpAsync(Stream body, CancellationToken cancellationToken)
    {
        await using var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true });
        var table = state.Routes;
        json.WriteStartObject();
        json.WriteStartObject("service");
        json.WriteString("name", config.Service.Name);
        json.WriteString("version", config.Service.Version);
        json.WriteNumber("weight", config.Service.Weight);
        json.WriteString("zone", config.Service.Zone);
        json.WriteEndObject();
        json.WriteBoolean("ready", state.IsReady);
        json.WriteBoolean("draining", state.IsDraining);
        json.WriteNumber("routesIndex", table.Index);
        // Refused route documents, so an operator sees why a pushed change did not take effect.
        json.WriteStartObject("routeErrors");
        foreach (var (document, problem) in state.RouteRejections.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            json.WriteString(document, problem);
        json.WriteEndObject();
        json.WriteStartObject("tls");
        if (security is null)
            json.WriteString("mode", "off");
        else
            security.WriteConfigDump(json, timeProvider);
        json.WriteEndObject();

        WriteRateLimits(json);

        json.WriteStartArray("routes");
        foreach (var route in table.Routes)
        {
            json.WriteStartObject();
            json.WriteString("name", route.Name);
            json.WriteBoolean("implicit", route.IsImplicit);
            json.WriteStartObject("match");
            WriteStrings(json, "hosts", route.Config.Match.Hosts);
            json.WriteString("pathPrefix", route.Config.Match.PathPrefix ?? "/");
            WriteStrings(json, "methods", route.Config.Match.Methods);
            json.WriteStartArray("headers");
            foreach (var header in route.Config.Match.Headers)
            {
                json.WriteStartObject();
                json.WriteString("name", header.Name);
                json.WriteString("mode", header.Mode.ToString());
                json.WriteString("value", header.Value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartArray("backends");
            foreach (var backend in route.Backends)
            {
                json.WriteStartObject();
                json.WriteString("service", backend.Service);
                json.WriteString("version", backend.Version);
                json.WriteNumber("weight", backend.Weight);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("timeoutMs", route.Timeout.TotalMilliseconds);
            json.WriteStartObject("retries");
            json.WriteNumber("attempts", route.Retries.Attempts);
            json.WriteBoolean("retryOnConnectFailure", route.Retries.RetryOnConnectFailure);
            json.WriteStartArray("retryOnStatusCodes");
            foreach (var code in route.Retries.RetryOnStatusCodes)
                json.WriteNumberValue(code);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("loadBalancing", route.Policy.Name);
            json.WriteStartObject("outlierDetection");
            json.WriteNumber("consecutiveFailures", route.OutlierDetection.ConsecutiveFailures);
            json.WriteNumber("baseEjectionTimeMs", route.OutlierDetection.BaseEjectionTime.TotalMilliseconds);
            json.WriteNumber("maxEjectionTimeMs", route.OutlierDetection.MaxEjectionTime.TotalMilliseconds);
            json.WriteNumber("maxEjectionPercent", route.OutlierDetection.MaxEjectionPercent);
            json.WriteEndObject();
            if (route.Config.RateLimit is { } rateLimit)
            {
                json.WriteStartObject("rateLimit");
                RateLimiting.RateLimitDump.Write(json, rateLimit, route.RateLimits);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();

        var now = timeProvider.GetTimestamp();
        json.WriteStartArray("clusters");
        foreach (var cluster in catalog.Clusters)
        {
            var snapshot = cluster.Snapshot;
            json.WriteStartObject();
            json.WriteString("service", cluster.Service);
            json.WriteNumber("index", snapshot.Index);
            json.WriteBoolean("known", snapshot.IsKnown);
            json.WriteNumber("healthy", snapshot.Healthy.Count);
            json.WriteStartArray("endpoints");
            foreach (var endpoint in snapshot.All)
            {
                var info = endpoint.Endpoint;
                var ejectedUntil = Volatile.Read(ref endpoint.EjectedUntil);
                json.WriteStartObject();
                json.WriteString("id", info.Id);
                json.WriteString("address", info.Address);
                json.WriteNumber("port", info.Port);
                json.WriteNumber("weight", info.Weight);
                json.WriteString("version", info.Version);
                json.WriteString("zone", info.Zone);
                json.WriteStartObject("labels");
                foreach (var (key, value) in info.Labels)
                    json.WriteString(key, value);
                json.WriteEndObject();
                json.WriteString("health", ejectedUntil == 0 ? "healthy" : "ejected");
                if (ejectedUntil != 0)
                    json.WriteNumber("ejectedForMs", Math.Max(0, (ejectedUntil - now) * 1000.0 / timeProvider.TimestampFrequency));
                json.WriteNumber("ejections", endpoint.EjectionCount);
                json.WriteNumber("consecutiveFailures", Volatile.Read(ref endpoint.ConsecutiveFailures));
                json.WriteNumber("activeRequests", Volatile.Read(ref endpoint.ActiveRequests));
                json.WriteNumber("requests", Interlocked.Read(ref endpoint.Requests));
                json.WriteNumber("failures", Interlocked.Read(ref endpoint.Failures));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    // Inbound and client-side limits live outside the route table; shown with the numbers in force.
    private void WriteRateLimits(Utf8JsonWriter json)
    {
        json.WriteStartObject("rateLimits");
        if (rateLimits is not null)
            RateLimiting.RateLimitDump.WritePolicy(json, config.RateLimits, rateLimits);
        json.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
            json.WriteStringValue(value);
        json.WriteEndArray();
    }
}
