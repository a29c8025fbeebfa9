using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Registry.Contracts.Tests;

/// <summary>The JSON examples of docs/registry-api.md are bodies of the contract: each reads into its record and writes back the same JSON.</summary>
public sealed class DocsExamplesTests
{
    [Fact]
    public void StatExample_IsANodeStat() => AssertExample("## Stat", RegistryJson.Default.NodeStat);

    [Fact]
    public void TransactionExample_IsATxnRequest() => AssertExample("## Transactions", RegistryJson.Default.TxnRequest);

    [Fact]
    public void WatchExample_IsAWatchResponse() => AssertExample("## Watches", RegistryJson.Default.WatchResponse);

    [Fact]
    public void StreamingWatchExample_IsAWatchStreamRecord() => AssertExample("## Streaming watches", RegistryJson.Default.WatchStreamRecord);

    private static void AssertExample<T>(string heading, JsonTypeInfo<T> type)
    {
        var example = JsonNode.Parse(ExampleAfter(heading));
        var value = example.Deserialize(type) ?? throw new InvalidDataException($"{heading}: the example is null");
        var written = JsonNode.Parse(JsonSerializer.Serialize(value, type));
        Assert.True(JsonNode.DeepEquals(example, written), $"{heading}: the docs show {example?.ToJsonString()}, the contract writes {written?.ToJsonString()}");
    }

    /// <summary>The first ```json block after <paramref name="heading"/> in docs/registry-api.md.</summary>
    private static string ExampleAfter(string heading)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "registry-api.md"));
        var section = text.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(section >= 0, $"docs/registry-api.md has no '{heading}' section");
        var start = text.IndexOf("```json\n", section, StringComparison.Ordinal) + "```json\n".Length;
        var end = text.IndexOf("```", start, StringComparison.Ordinal);
        return text[start..end];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Mesh.sln not found above " + AppContext.BaseDirectory);
    }
}
