using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// Applies the records of a <c>data=true</c> streaming watch of a config prefix (routes, policies)
/// to its last <see cref="ConfigSnapshot"/>: a document is a direct child of the prefix, its data
/// the node's. The prefix node itself and nodes deeper down are not documents. Pure.
/// </summary>
internal static class ConfigSnapshotRecords
{
    public static ConfigSnapshot Apply(ConfigSnapshot last, IReadOnlyList<WatchStreamRecord> records, long index)
    {
        var prefix = last.Prefix.Length > 1 ? last.Prefix.TrimEnd('/') : last.Prefix;
        var documents = last.Documents.ToBuilder();
        foreach (var record in records)
        {
            if (EndpointSetRecords.ChildOf(record.Path!, prefix) is not { } name)
                continue;
            if (record.Type is ChangeEvent.Created or ChangeEvent.DataChanged)
                documents[name] = record.Data!.Value.ToArray();
            else if (record.Type == ChangeEvent.Deleted)
                documents.Remove(name);
        }
        return new ConfigSnapshot(last.Prefix, index, documents.ToImmutable());
    }
}
