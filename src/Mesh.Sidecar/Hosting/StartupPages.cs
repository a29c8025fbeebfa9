using System.Globalization;
using System.Runtime.InteropServices;

namespace Mesh.Sidecar.Hosting;

/// <summary>
/// Gives back the pages of the process's own executable that only start-up used. A native
/// sidecar's code and read-only data are mapped from its file, and starting it (reading the YAML,
/// building the host, the compressed type data the runtime unpacks once) touches pages it never
/// needs again; the kernel keeps each touched page, and the ones around it, in the process's
/// resident memory for good. <see cref="Release"/> drops the mappings of those pages
/// (<c>madvise(MADV_DONTNEED)</c>); what the sidecar still runs maps back in from the page cache
/// on first use (a minor fault), so what stays resident is what serving traffic touches
/// (docs/benchmarks.md, "Native sidecar memory"). Only mappings that are read-only, private and
/// hold no page of their own (no relocated or written page, which dropping would lose) are
/// released, so nothing the process wrote is touched. Linux only; elsewhere, or if the kernel
/// refuses, nothing happens.
/// </summary>
public static class StartupPages
{
    private const int MadviseDontNeed = 4;

    /// <summary>
    /// Releases the start-up pages of this process's executable; returns how many mappings and
    /// bytes it released (0 and 0 when there is nothing to do or the platform cannot).
    /// </summary>
    public static (int Mappings, long Bytes) Release()
    {
        if (!OperatingSystem.IsLinux())
            return (0, 0);
        if (Environment.ProcessPath is not { } executable)
            return (0, 0);
        List<(ulong Start, ulong End)> ranges;
        try
        {
            using var smaps = File.OpenText("/proc/self/smaps");
            ranges = Releasable(smaps, executable).ToList();
        }
        catch (IOException)
        {
            return (0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (0, 0);
        }

        int mappings = 0;
        long bytes = 0;
        foreach (var (start, end) in ranges)
        {
            if (madvise((nint)start, (nuint)(end - start), MadviseDontNeed) == 0)
            {
                mappings++;
                bytes += (long)(end - start);
            }
        }
        return (mappings, bytes);
    }

    /// <summary>
    /// Schedules <see cref="Release"/> <paramref name="delay"/> from now, on the thread pool, so
    /// the work that follows start-up (the first registration, the first sync of routes and
    /// endpoints) is done by then and its pages go too.
    /// </summary>
    public static void ReleaseAfter(TimeSpan delay) =>
        _ = Task.Delay(delay).ContinueWith(_ => Release(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    /// <summary>
    /// The address ranges of <paramref name="smaps"/> (the format of <c>/proc/PID/smaps</c>) that
    /// map <paramref name="executable"/> private and read-only and hold no anonymous page: the
    /// ones whose every resident page is a clean copy of the file.
    /// </summary>
    public static IEnumerable<(ulong Start, ulong End)> Releasable(TextReader smaps, string executable)
    {
        (ulong Start, ulong End)? current = null;
        while (smaps.ReadLine() is { } line)
        {
            if (IsHeader(line, out var start, out var end, out var perms, out var path))
            {
                // A private mapping of the executable that the process cannot write (r--p, r-xp).
                current = path == executable && perms.Length == 4 && perms[1] == '-' && perms[3] == 'p' ? (start, end) : null;
            }
            else if (current is { } range && line.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                // A page written since it was mapped (the dynamic linker's relocations under
                // RELRO) is the process's own copy: dropping it would bring back the file's.
                if (line.AsSpan("Anonymous:".Length).Trim().StartsWith("0 kB", StringComparison.Ordinal))
                    yield return range;
                current = null;
            }
        }
    }

    // "7f1c2a000000-7f1c2a020000 r-xp 00020000 08:01 1234   /usr/bin/mesh-sidecar"
    private static bool IsHeader(string line, out ulong start, out ulong end, out string perms, out string path)
    {
        start = end = 0;
        perms = path = "";
        var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5)
            return false;
        var dash = fields[0].IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
            || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end))
            return false;
        perms = fields[1];
        path = fields.Length == 6 ? fields[5].Trim() : "";
        return true;
    }

    // DllImport rather than LibraryImport: the project does not allow unsafe code, and this
    // signature (integers) marshals without it.
    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);
}
