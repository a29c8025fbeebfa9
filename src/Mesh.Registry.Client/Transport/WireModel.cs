using System.Text.Json.Serialization;

namespace Mesh.Registry.Client.Transport;

// The JSON shapes of docs/registry-api.md, as the client reads and writes them.

internal sealed record ErrorBody(string? Error, string? Message, int? FailedOp, List<TxnOpResultBody>? Results);

internal sealed record NodeBody(string Path, byte[]? Data, NodeStat Stat);

internal sealed record ChildrenBody(string Path, List<string> Children, NodeStat Stat);

internal sealed record WriteBody(string? Path, NodeStat? Stat, long Index);

internal sealed record SessionBody(long Id, long TtlMs, long Index);

internal sealed record SessionRequestBody(long TtlMs);

internal sealed record WatchBody(long Index, List<ChangeEvent> Events);

internal sealed record TxnRequestBody(List<TxnOpBody> Ops);

internal sealed record TxnOpBody(string Op, string Path, byte[]? Data, long Version, string? Mode, long Session);

internal sealed record TxnBody(long Index, List<TxnOpResultBody> Results);

internal sealed record TxnOpResultBody(string? Op, string? Path, NodeStat? Stat, string? Error);

internal sealed record ServicesBody(long Index, List<string> Services);

internal sealed record InstanceBody(string Id, string Address, int Port, int Weight, string? Version, string? Zone, Dictionary<string, string>? Labels);

internal sealed record ServiceBody(string Service, long Index, List<InstanceBody> Instances, string? Owner = null);

/// <summary>What a sidecar writes into its instance node.</summary>
internal sealed record InstanceDocument(string Address, int Port, int Weight, string Version, string Zone, SortedDictionary<string, string> Labels);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(NodeBody))]
[JsonSerializable(typeof(ChildrenBody))]
[JsonSerializable(typeof(WriteBody))]
[JsonSerializable(typeof(SessionBody))]
[JsonSerializable(typeof(SessionRequestBody))]
[JsonSerializable(typeof(WatchBody))]
[JsonSerializable(typeof(TxnRequestBody))]
[JsonSerializable(typeof(TxnBody))]
[JsonSerializable(typeof(ServicesBody))]
[JsonSerializable(typeof(ServiceBody))]
[JsonSerializable(typeof(InstanceDocument))]
internal sealed partial class WireJson : JsonSerializerContext;
