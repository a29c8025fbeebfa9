using System.Buffers;
using System.Text.Json;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;

namespace Mesh.Registry.Watches;

/// <summary>The lines of a streaming watch: each a <see cref="WatchStreamRecord"/> in UTF-8 JSON and a newline.</summary>
internal static class WatchRecords
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static byte[] Change(Core.Events.ChangeEvent change, string? servicePath = null) =>
        Line(new WatchStreamRecord(TypeName(change.Type), change.Index, change.Path, ServicePath: servicePath));

    public static byte[] Line(WatchStreamRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            JsonSerializer.Serialize(writer, record, RegistryJson.Default.WatchStreamRecord);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The contract's name of a change type.</summary>
    public static string TypeName(ChangeEventType type) => type switch
    {
        ChangeEventType.Created => Contracts.ChangeEvent.Created,
        ChangeEventType.DataChanged => Contracts.ChangeEvent.DataChanged,
        ChangeEventType.Deleted => Contracts.ChangeEvent.Deleted,
        _ => Contracts.ChangeEvent.ChildrenChanged,
    };
}
