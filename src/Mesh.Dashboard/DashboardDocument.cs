// The JSON the page polls (/api/snapshot): one look at the mesh put together from the registry
// (cluster, services, instances, owners), the sidecars' /config_dump (endpoint health and
// ejections as each caller sees them, routes with their splits, rate limits in force,
// certificates) and the metrics of the window between the last two looks. Pure: observation in,
// JSON out. Every state is a word ("healthy", "ejected", "unreachable"), so the page can show it
// as text, not only as a colour.
using System.Globalization;
using System.Text.Json;
using Mesh.Registry.Client;

namespace Mesh.Dashboard;

internal static class DashboardDocument
{
    public static void Write(Utf8JsonWriter w, MeshObservation look, MeshMetrics? metrics, TimeSpan window)
    {
        w.WriteStartObject();
        w.WriteString("at", look.At.ToString("O", CultureInfo.InvariantCulture));
        w.WriteNumber("windowSeconds", Math.Round(window.TotalSeconds, 3));
        w.WriteBoolean("hasWindow", metrics is not null);

        w.WriteStartObject("registry");
        if (look.RegistryError is { } error)
            w.WriteString("error", error);
        if (look.Status is { } status)
        {
            w.WritePropertyName("status");
            status.WriteTo(w);
        }
        w.WriteEndObject();

        WriteServices(w, look, metrics);
        WriteEdges(w, metrics);
        WriteRoutes(w, look, metrics);
        WriteRateLimits(w, look, metrics);
        WriteCertificates(w, look);
        w.WriteEndObject();
    }

    private static void WriteServices(Utf8JsonWriter w, MeshObservation look, MeshMetrics? metrics)
    {
        // Who sees each endpoint ejected: callers' /config_dump clusters, by endpoint id.
        var ejectedBy = new Dictionary<(string Service, string Id), List<string>>();
        var seenBy = new Dictionary<(string Service, string Id), int>();
        foreach (var scrape in look.Sidecars)
        {
            if (scrape.ConfigDump is not { } dump || !dump.TryGetProperty("clusters", out var clusters))
                continue;
            foreach (var cluster in clusters.EnumerateArray())
            {
                var service = Text(cluster, "service");
                foreach (var endpoint in Array(cluster, "endpoints"))
                {
                    var key = (service, Text(endpoint, "id"));
                    seenBy[key] = seenBy.GetValueOrDefault(key) + 1;
                    if (Text(endpoint, "health") == "ejected")
                        (ejectedBy.TryGetValue(key, out var list) ? list : ejectedBy[key] = []).Add(InstanceName(scrape));
                }
            }
        }

        w.WriteStartArray("services");
        foreach (var set in look.Services)
        {
            w.WriteStartObject();
            w.WriteString("name", set.Service);
            if (set.Owner is { } owner)
                w.WriteString("owner", owner);
            else
                w.WriteNull("owner");
            WriteSignals(w, "inbound", metrics?.Inbound.GetValueOrDefault(set.Service));
            WriteSignals(w, "outbound", metrics?.Outbound.GetValueOrDefault(set.Service));
            w.WriteNumber("denied", metrics?.Denied.Where(d => d.Service == set.Service).Sum(d => d.Total) ?? 0);
            w.WriteNumber("deniedRps", Round(metrics?.Denied.Where(d => d.Service == set.Service).Sum(d => d.Rps) ?? 0));
            w.WriteNumber("rateLimited", metrics?.RateLimited.Where(r => r.Service == set.Service).Sum(r => r.Total) ?? 0);
            w.WriteStartArray("instances");
            foreach (var instance in set.Instances)
            {
                var scrape = look.Sidecars.FirstOrDefault(s => s.Service == set.Service && s.Instance.Id == instance.Id);
                w.WriteStartObject();
                w.WriteString("id", instance.Id);
                w.WriteString("address", $"{instance.Address}:{instance.Port.ToString(CultureInfo.InvariantCulture)}");
                w.WriteNumber("weight", instance.Weight);
                w.WriteString("version", instance.Version);
                w.WriteString("zone", instance.Zone);
                w.WriteString("admin", scrape?.AdminUrl?.ToString());
                w.WriteString("sidecar", scrape switch
                {
                    null => "not scraped",
                    { Error: { } e } => "unreachable: " + e,
                    { ConfigDump: { } d } when d.TryGetProperty("draining", out var draining) && draining.ValueKind == JsonValueKind.True => "draining",
                    { ConfigDump: { } d } when d.TryGetProperty("ready", out var ready) && ready.ValueKind == JsonValueKind.True => "ready",
                    _ => "not ready",
                });
                var key = (set.Service, instance.Id);
                var ejecting = ejectedBy.GetValueOrDefault(key) ?? [];
                w.WriteString("health", ejecting.Count > 0 ? "ejected" : seenBy.ContainsKey(key) ? "healthy" : "no caller yet");
                w.WriteStartArray("ejectedBy");
                foreach (var caller in ejecting)
                    w.WriteStringValue(caller);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("sidecars");
        foreach (var scrape in look.Sidecars)
        {
            w.WriteStartObject();
            w.WriteString("service", scrape.Service);
            w.WriteString("instance", scrape.Instance.Id);
            w.WriteString("admin", scrape.AdminUrl?.ToString());
            w.WriteString("state", scrape.Error is { } e ? "unreachable: " + e : "scraped");
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteEdges(Utf8JsonWriter w, MeshMetrics? metrics)
    {
        w.WriteStartArray("edges");
        foreach (var edge in metrics?.Edges ?? [])
        {
            w.WriteStartObject();
            w.WriteString("from", edge.From);
            w.WriteString("to", edge.To);
            WriteSignals(w, "signals", edge.Signals);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteRoutes(Utf8JsonWriter w, MeshObservation look, MeshMetrics? metrics)
    {
        // Routes as the sidecars run them (the first sidecar that has one speaks for it), not as stored.
        var routes = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var scrape in look.Sidecars)
        {
            if (scrape.ConfigDump is not { } dump)
                continue;
            foreach (var route in Array(dump, "routes"))
            {
                if (route.TryGetProperty("implicit", out var isImplicit) && isImplicit.ValueKind == JsonValueKind.True)
                    continue;
                routes.TryAdd(Text(route, "name"), route);
            }
        }

        w.WriteStartArray("routes");
        foreach (var (name, route) in routes)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteStartArray("backends");
            foreach (var backend in Array(route, "backends"))
                backend.WriteTo(w);
            w.WriteEndArray();
            if (route.TryGetProperty("rateLimit", out var limit))
            {
                w.WritePropertyName("rateLimit");
                limit.WriteTo(w);
            }
            // Who sent requests through it in the window (every sidecar holds every route).
            w.WriteStartArray("callers");
            foreach (var caller in metrics?.RouteCallers.GetValueOrDefault(name) ?? [])
                w.WriteStringValue(caller);
            w.WriteEndArray();
            WriteSignals(w, "signals", metrics?.Routes.GetValueOrDefault(name));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteRateLimits(Utf8JsonWriter w, MeshObservation look, MeshMetrics? metrics)
    {
        // Limits in force per sidecar: inbound and per-upstream from `rateLimits`, and each route's stage.
        w.WriteStartArray("rateLimits");
        foreach (var scrape in look.Sidecars)
        {
            if (scrape.ConfigDump is not { } dump)
                continue;
            if (dump.TryGetProperty("rateLimits", out var policy))
            {
                foreach (var inbound in Array(policy, "inbound"))
                    WriteLimit(w, scrape, "inbound", Text(inbound, "name"), inbound);
                if (policy.TryGetProperty("outbound", out var outbound) && outbound.ValueKind == JsonValueKind.Object)
                    foreach (var upstream in outbound.EnumerateObject())
                        WriteLimit(w, scrape, "outbound", Text(upstream.Value, "name"), upstream.Value);
            }
            foreach (var route in Array(dump, "routes"))
            {
                if (route.TryGetProperty("rateLimit", out var limit))
                    WriteLimit(w, scrape, "outbound", Text(route, "name"), limit);
            }
        }
        w.WriteEndArray();

        w.WriteStartArray("rateLimited");
        foreach (var count in metrics?.RateLimited ?? [])
        {
            w.WriteStartObject();
            w.WriteString("service", count.Service);
            w.WriteString("direction", count.Direction);
            w.WriteString("limit", count.Limit);
            w.WriteString("reason", count.Reason);
            w.WriteNumber("total", count.Total);
            w.WriteNumber("rps", Round(count.Rps));
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("denied");
        foreach (var count in metrics?.Denied ?? [])
        {
            w.WriteStartObject();
            w.WriteString("service", count.Service);
            w.WriteString("rule", count.Rule);
            w.WriteNumber("total", count.Total);
            w.WriteNumber("rps", Round(count.Rps));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteLimit(Utf8JsonWriter w, SidecarScrape scrape, string direction, string name, JsonElement limit)
    {
        w.WriteStartObject();
        w.WriteString("service", scrape.Service);
        w.WriteString("instance", scrape.Instance.Id);
        w.WriteString("direction", direction);
        w.WriteString("name", name);
        Copy(w, limit, "kind", "requestsPerSecond", "burst", "limit", "windowMs", "key", "meshWide", "share", "effectiveLimit", "enforced");
        // A route's limit keeps its numbers in force per stage entry; the first is the route's own.
        if (!limit.TryGetProperty("share", out _) && Array(limit, "stage").FirstOrDefault() is { ValueKind: JsonValueKind.Object } stage)
            Copy(w, stage, "share", "effectiveLimit");
        w.WriteEndObject();
    }

    private static void WriteCertificates(Utf8JsonWriter w, MeshObservation look)
    {
        w.WriteStartArray("certificates");
        foreach (var scrape in look.Sidecars)
        {
            if (scrape.ConfigDump is not { } dump || !dump.TryGetProperty("tls", out var tls))
                continue;
            w.WriteStartObject();
            w.WriteString("service", scrape.Service);
            w.WriteString("instance", scrape.Instance.Id);
            Copy(w, tls, "mode", "identity", "certificateExpiresAt", "certificateExpiresInSeconds", "certificateRotations");
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Copies the named fields a sidecar's /config_dump has, as they are; a missing one is left out.</summary>
    private static void Copy(Utf8JsonWriter w, JsonElement from, params string[] fields)
    {
        foreach (var field in fields)
        {
            if (from.TryGetProperty(field, out var value))
            {
                w.WritePropertyName(field);
                value.WriteTo(w);
            }
        }
    }

    private static void WriteSignals(Utf8JsonWriter w, string name, Signals? signals)
    {
        if (signals is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteNumber("requests", signals.Requests);
        w.WriteNumber("rps", Round(signals.Rps));
        Nullable(w, "successRate", signals.SuccessRate);
        Nullable(w, "clientErrorRate", signals.ClientErrorRate);
        Nullable(w, "p50Ms", signals.P50 * 1000);
        Nullable(w, "p99Ms", signals.P99 * 1000);
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
            w.WriteNumber(name, Round(v));
        else
            w.WriteNull(name);
    }

    private static double Round(double value) => Math.Round(value, 4);

    private static string InstanceName(SidecarScrape scrape) => $"{scrape.Service}/{scrape.Instance.Id}";

    private static string Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static IEnumerable<JsonElement> Array(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];
}
