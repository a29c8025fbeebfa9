// How /config_dump shows rate limits: the configured limit and the numbers in force on this
// sidecar (after the mesh-wide share) and the partitions kept; for a route, per stage entry.
using System.Text.Json;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.RateLimiting;

internal static class RateLimitDump
{
    /// <summary>The sidecar's own policy: inbound limits with their match, client-side limits per service.</summary>
    public static void WritePolicy(Utf8JsonWriter json, RateLimitsConfig config, SidecarRateLimits limits)
    {
        json.WriteNumber("share", limits.Share);
        json.WriteStartArray("inbound");
        var entries = limits.Inbound?.Entries ?? [];
        for (var i = 0; i < entries.Count && i < config.Inbound.Count; i++)
        {
            var limit = config.Inbound[i];
            json.WriteStartObject();
            json.WriteString("pathPrefix", limit.PathPrefix ?? "/");
            json.WriteStartArray("methods");
            foreach (var method in limit.Methods)
                json.WriteStringValue(method);
            json.WriteEndArray();
            WriteInForce(json, entries[i].Strategy);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartObject("outbound");
        foreach (var (service, strategy) in limits.Upstream)
        {
            json.WriteStartObject(service);
            WriteInForce(json, strategy);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteInForce(Utf8JsonWriter json, RateLimitStrategy strategy)
    {
        json.WriteString("name", strategy.Name);
        WriteConfigured(json, strategy.Options);
        json.WriteNumber("share", strategy.Share);
        json.WriteNumber("effectiveLimit", strategy.EffectiveLimit);
        json.WriteNumber("partitions", strategy.PartitionCount);
    }

    public static void Write(Utf8JsonWriter json, RateLimitOptions options, RateLimitStage? stage)
    {
        WriteConfigured(json, options);
        json.WriteBoolean("enforced", stage is not null);
        if (stage is null)
            return;
        json.WriteStartArray("stage");
        foreach (var entry in stage.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", entry.Strategy.Name);
            json.WriteNumber("share", entry.Strategy.Share);
            json.WriteNumber("effectiveLimit", entry.Strategy.EffectiveLimit);
            json.WriteNumber("partitions", entry.Strategy.PartitionCount);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteConfigured(Utf8JsonWriter json, RateLimitOptions options)
    {
        json.WriteString("kind", RateLimitKinds.NameOf(options.Kind));
        if (options.Kind == RateLimitKind.TokenBucket)
        {
            json.WriteNumber("requestsPerSecond", options.RequestsPerSecond);
            json.WriteNumber("burst", options.EffectiveBurst);
        }
        else
        {
            json.WriteNumber("limit", options.Limit);
            if (options.Kind != RateLimitKind.Concurrency)
                json.WriteNumber("windowMs", options.Window.TotalMilliseconds);
        }
        json.WriteString("key", RateLimitKinds.KeyName(options));
        json.WriteNumber("queue", options.QueueLimit);
        json.WriteBoolean("meshWide", options.MeshWide);
    }
}
