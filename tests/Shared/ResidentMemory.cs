using System.Diagnostics;
using System.Globalization;

namespace Mesh.Testing;

/// <summary>A process's resident memory as the kernel counts it (VmRSS), for tests that report what a flood cost.</summary>
internal static class ResidentMemory
{
    /// <summary>Resident bytes of <paramref name="process"/>; 0 once it has exited.</summary>
    public static long Of(Process process)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    public static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0.0} MB";
}
