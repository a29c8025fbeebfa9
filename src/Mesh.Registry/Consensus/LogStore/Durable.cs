using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Mesh.Registry.Consensus.LogStore;

/// <summary>
/// The disk barriers the log relies on. .NET only offers fsync on a file handle; the log wants
/// fdatasync (its segments are preallocated, so no metadata has to reach the disk for an append)
/// and an fsync of a directory (a created, renamed or deleted file is durable only then), which
/// need libc on Linux. Elsewhere both fall back to what .NET has.
/// </summary>
internal static class Durable
{
    /// <summary>Makes the data written to <paramref name="handle"/> durable.</summary>
    public static void SyncData(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (fdatasync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>Makes the names in <paramref name="directory"/> durable (after a create, rename or delete).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        var fd = open(directory, ORdOnly | ODirectory);
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/> all or nothing: temp file, fsync, rename, fsync directory.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp";
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, content, 0);
            RandomAccess.FlushToDisk(handle);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000;

    // DllImport rather than LibraryImport: the project does not allow unsafe code, and these
    // signatures (ints, a string) marshal without it.
    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
