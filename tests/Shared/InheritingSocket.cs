// Starts a child process that inherits one listening socket as an open file descriptor (its
// number is the parent's), the way a launcher hands a port it bound at 0 to the process that
// serves it. .NET opens sockets close-on-exec; the flag is lifted for this one socket only
// while this child starts, under a lock, so the test's other children do not inherit it.
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Mesh.Testing;

internal static class InheritingSocket
{
    private const int SetDescriptorFlags = 2; // F_SETFD
    private const int CloseOnExec = 1; // FD_CLOEXEC
    private static readonly Lock Spawning = new();

    public static Process Start(ProcessStartInfo start, Socket socket)
    {
        var process = new Process { StartInfo = start };
        Start(process, socket);
        return process;
    }

    /// <summary>Starts <paramref name="process"/> (its events already wired) inheriting <paramref name="socket"/>.</summary>
    public static void Start(Process process, Socket socket)
    {
        var fd = (int)socket.Handle;
        lock (Spawning)
        {
            if (SetFlags(fd, SetDescriptorFlags, 0) != 0)
                throw new InvalidOperationException($"fcntl(F_SETFD) failed on fd {fd}: errno {Marshal.GetLastPInvokeError()}");
            try
            {
                process.Start();
            }
            finally
            {
                _ = SetFlags(fd, SetDescriptorFlags, CloseOnExec);
            }
        }
    }

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int SetFlags(int fd, int command, int argument);
}
