using Mesh.Sidecar.Hosting;

namespace Mesh.Sidecar.Tests.Hosting;

public sealed class StartupPagesTests
{
    private const string Executable = "/usr/bin/mesh-sidecar";

    // Trimmed /proc/PID/smaps of a native sidecar: its file's segments, RELRO after relocation,
    // its data, a shared library, the GC's anonymous memory.
    private const string Smaps = """
        55d0c0000000-55d0c0020000 r--p 00000000 08:01 1234                       /usr/bin/mesh-sidecar
        Size:                128 kB
        Rss:                 128 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55d0c0020000-55d0c08af000 r-xp 00020000 08:01 1234                       /usr/bin/mesh-sidecar
        Size:               8764 kB
        Rss:                8100 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        55d0c08af000-55d0c1125000 r--p 008af000 08:01 1234                       /usr/bin/mesh-sidecar
        Rss:                7000 kB
        Anonymous:             0 kB
        55d0c1125000-55d0c1127000 r--p 01124000 08:01 1234                       /usr/bin/mesh-sidecar
        Rss:                   8 kB
        Anonymous:             8 kB
        55d0c1127000-55d0c116a000 rw-p 01126000 08:01 1234                       /usr/bin/mesh-sidecar
        Rss:                 200 kB
        Anonymous:           200 kB
        7f3a10000000-7f3a10200000 r-xp 00000000 08:01 99                         /usr/lib/x86_64-linux-gnu/libcrypto.so.3
        Rss:                4000 kB
        Anonymous:             0 kB
        7f3a20000000-7f3a24000000 rw-p 00000000 00:00 0
        Rss:                6000 kB
        Anonymous:          6000 kB
        7f3a30000000-7f3a30001000 r--s 00000000 08:01 1234                       /usr/bin/mesh-sidecar
        Rss:                   4 kB
        Anonymous:             0 kB
        """;

    [Fact]
    public void Releasable_TakesTheExecutablesReadOnlyPrivateMappings_WhoseEveryPageIsTheFiles()
    {
        var ranges = StartupPages.Releasable(new StringReader(Smaps), Executable).ToList();

        // The headers, code and read-only data; not RELRO (relocated, so the process's own copy),
        // not the writable data, not another file, not anonymous memory, not a shared mapping.
        Assert.Equal(
        [
            (0x55d0c0000000UL, 0x55d0c0020000UL),
            (0x55d0c0020000UL, 0x55d0c08af000UL),
            (0x55d0c08af000UL, 0x55d0c1125000UL),
        ], ranges);
    }

    [Fact]
    public void Releasable_OfAnotherExecutable_IsNothing()
    {
        Assert.Empty(StartupPages.Releasable(new StringReader(Smaps), "/usr/bin/mesh"));
    }

    [Fact]
    public void Release_InThisProcess_DropsItsExecutablesPages()
    {
        var before = ResidentKbOfExecutable();

        var (mappings, bytes) = StartupPages.Release();

        Assert.True(mappings > 0, "no mapping of the executable was released");
        Assert.True(bytes > 0);
        // The test host's executable only started the process: the runtime and this test run
        // from other files, so its pages do not come back at once.
        var after = ResidentKbOfExecutable();
        Assert.True(after < before, $"the executable had {before} kB resident before and {after} kB after");
    }

    // The resident kB of this process's executable, from /proc/self/smaps.
    private static long ResidentKbOfExecutable()
    {
        long kb = 0;
        var inExecutable = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
                inExecutable = fields.Length == 6 && fields[5].Trim() == Environment.ProcessPath;
            else if (inExecutable && fields[0] == "Rss:")
                kb += long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        return kb;
    }
}
