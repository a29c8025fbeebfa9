using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Registry.Contracts.Tests;

/// <summary>
/// Checks one body of the wire contract: the record serializes to exactly its golden JSON (the
/// bytes the registry answered before the contract existed, in the shape docs/registry-api.md
/// documents), the golden JSON reads back to an equal record, and that record serializes the same.
/// </summary>
internal static class WireSamples
{
    public static void RoundTrips<T>(T value, JsonTypeInfo<T> type, string golden)
    {
        var json = JsonSerializer.Serialize(value, type);
        Assert.Equal(golden, json);
        var back = JsonSerializer.Deserialize(golden, type);
        Assert.NotNull(back);
        Assert.Equivalent(value, back, strict: true);
        Assert.Equal(json, JsonSerializer.Serialize(back, type));
    }

    public static readonly NodeStat Stat = new(0, 0, 12, 12, 1764080000000, 1764080000000, 0, 5, 0);

    public const string StatJson =
        """{"version":0,"childVersion":0,"createdIndex":12,"modifiedIndex":12,"createdTime":1764080000000,"modifiedTime":1764080000000,"ephemeralOwner":0,"dataLength":5,"numChildren":0}""";
}
