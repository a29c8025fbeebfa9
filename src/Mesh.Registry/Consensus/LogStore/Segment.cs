using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// One preallocated log file holding entries from <see cref="FirstIndex"/> on, named by it. The
/// file is allocated whole when created, so appends never change its size and an fdatasync
/// writes only the data.
/// </summary>
internal sealed class Segment : IDisposable
{
    private const string Suffix = ".log";

    private Segment(string path, long firstIndex, SafeFileHandle handle, long capacity)
    {
        Path = path;
        FirstIndex = firstIndex;
        Handle = handle;
        Capacity = capacity;
    }

    public string Path { get; }

    public long FirstIndex { get; }

    public SafeFileHandle Handle { get; }

    public long Capacity { get; }

    /// <summary>Where the next frame goes.</summary>
    public long WriteOffset { get; set; }

    public static string NameOf(long firstIndex) => firstIndex.ToString("D20", CultureInfo.InvariantCulture) + Suffix;

    public static bool TryParseName(string fileName, out long firstIndex)
    {
        firstIndex = 0;
        return fileName.EndsWith(Suffix, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, fileName.Length - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out firstIndex);
    }

    public static Segment Create(string directory, long firstIndex, long capacity)
    {
        var path = System.IO.Path.Combine(directory, NameOf(firstIndex));
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocationSize: capacity);
        // Preallocation reserves blocks but a short file still reads as shorter; the length must be the capacity.
        if (RandomAccess.GetLength(handle) < capacity)
            RandomAccess.SetLength(handle, capacity);
        Durable.SyncData(handle);
        Durable.SyncDirectory(directory);
        return new Segment(path, firstIndex, handle, capacity);
    }

    public static Segment OpenExisting(string path, long firstIndex)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        return new Segment(path, firstIndex, handle, RandomAccess.GetLength(handle));
    }

    public byte[] ReadAll()
    {
        var bytes = new byte[Capacity];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(Handle, bytes.AsSpan(read), read);
            if (n == 0)
                break;
            read += n;
        }
        return bytes;
    }

    public void Read(long offset, Span<byte> destination)
    {
        var read = 0;
        while (read < destination.Length)
        {
            var n = RandomAccess.Read(Handle, destination[read..], offset + read);
            if (n == 0)
                throw new InvalidDataException($"log segment {Path} ends at {offset + read}, inside an entry");
            read += n;
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> bytes) => RandomAccess.Write(Handle, bytes, offset);

    public void Dispose() => Handle.Dispose();
}
