// How /config_dump shows a route's rate limits: the configured limit and, per stage entry, the
// numbers in force on this sidecar (after the mesh-wide share) and the partitions kept.
using System.Text.Json;

namespace Mesh.Sidecar.RateLimiting;

internal static class RateLimitDump
{
    public static void Write(Utf8JsonWriter json, RateLimitOptions options, RateLimitStage? stage)
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
}
