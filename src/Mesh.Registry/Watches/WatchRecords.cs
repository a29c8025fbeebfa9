using System.Buffers;
using System.Text.Json;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;

namespace Mesh.Registry.Watches;

/// <summary>The lines of a streaming watch: each a <see cref="WatchStreamRecord"/> in UTF-8 JSON and a newline.</summary>
internal static class WatchRecords
{
    /// <summary>Data a record carries at most (<c>data=true</c> streams); a larger node's record goes without, and its readers read it.</summary>
    public const int MaxValueBytes = 4096;

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static byte[] Change(Core.Events.ChangeEvent change, string? servicePath = null, WatchValue? value = null) =>
        Line(new WatchStreamRecord(TypeName(change.Type), change.Index, change.Path, ServicePath: servicePath,
            Data: value?.Data, Version: value?.Version));

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

/// <summary>A node's data and data version after the command a change record is for.</summary>
internal readonly record struct WatchValue(ReadOnlyMemory<byte> Data, long Version);
