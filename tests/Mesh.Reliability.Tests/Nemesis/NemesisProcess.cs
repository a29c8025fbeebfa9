using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>What the kernel says a process is doing (Linux <c>/proc/PID/stat</c>).</summary>
internal enum ProcessRunState
{
    Unknown,
    Running,
    Sleeping,
    Stopped,
    Zombie,
    Gone,
}

/// <summary>
/// A child process the nemesis can crash (SIGKILL), freeze (SIGSTOP), thaw (SIGCONT) and restart
/// with the same command line — a registry node under test. Its recent output is kept for the
/// report of a failed run.
/// </summary>
internal sealed partial class NemesisProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 200;

    private readonly ProcessStartInfo _startInfo;
    private readonly Queue<string> _output = new();
    private Process _process;

    private NemesisProcess(ProcessStartInfo startInfo)
    {
        _startInfo = startInfo;
        _process = Launch();
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> (no shell).</summary>
    public static NemesisProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return new NemesisProcess(start);
    }

    public string FileName => _startInfo.FileName;

    public IReadOnlyList<string> Arguments => _startInfo.ArgumentList.ToArray();

    /// <summary>The id of the current incarnation (it changes on restart).</summary>
    public int Pid => _process.Id;

    /// <summary>How many times <see cref="RestartAsync"/> started a new incarnation.</summary>
    public int Restarts { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code of the current incarnation once it has exited (128 + signal when killed).</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The last lines the process wrote (stdout and stderr interleaved), across restarts.</summary>
    public IReadOnlyList<string> RecentOutput
    {
        get { lock (_output) return _output.ToArray(); }
    }

    public ProcessRunState State => _process.HasExited ? ProcessRunState.Gone : StateOf(_process.Id);

    /// <summary>SIGKILL, then waits until the process is reaped. A no-op if it already exited.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited between the check and the kill
            }
        }
        await _process.WaitForExitAsync(cancellationToken);
    }

    /// <summary>SIGSTOP: the process is frozen (its sockets stay open, its peers see silence).</summary>
    public void Pause() => Signal(_process.Id, SignalNumber.Stop);

    /// <summary>SIGCONT: a paused process carries on.</summary>
    public void Resume() => Signal(_process.Id, SignalNumber.Continue);

    /// <summary>Kills the current incarnation if it still runs, and starts the same command again.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync(cancellationToken);
        _process.Dispose();
        _process = Launch();
        Restarts++;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A stopped process still dies of SIGKILL; no need to thaw it first.
            await KillAsync();
        }
        _process.Dispose();
    }

    /// <summary>Reads the state letter of <c>/proc/PID/stat</c>; Unknown where there is no procfs.</summary>
    public static ProcessRunState StateOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return OperatingSystem.IsLinux() ? ProcessRunState.Gone : ProcessRunState.Unknown;
        }
        catch (IOException)
        {
            return ProcessRunState.Unknown;
        }
        // "pid (comm) S ...": comm may contain spaces and parentheses, so look after the last ')'.
        var after = stat.AsSpan(stat.LastIndexOf(')') + 1).TrimStart();
        return after.IsEmpty ? ProcessRunState.Unknown : after[0] switch
        {
            'R' => ProcessRunState.Running,
            'S' or 'D' or 'I' => ProcessRunState.Sleeping,
            'T' or 't' => ProcessRunState.Stopped,
            'Z' or 'X' => ProcessRunState.Zombie,
            _ => ProcessRunState.Unknown,
        };
    }

    private Process Launch()
    {
        var process = new Process { StartInfo = _startInfo };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLinesKept)
                _output.Dequeue();
        }
    }

    private enum SignalNumber
    {
        Stop,
        Continue,
    }

    private static void Signal(int pid, SignalNumber signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            throw new PlatformNotSupportedException("SIGSTOP/SIGCONT need a Unix");
        // Signal numbers differ: Linux SIGSTOP 19, SIGCONT 18; macOS/BSD SIGSTOP 17, SIGCONT 19.
        var number = (signal, OperatingSystem.IsMacOS()) switch
        {
            (SignalNumber.Stop, false) => 19,
            (SignalNumber.Continue, false) => 18,
            (SignalNumber.Stop, true) => 17,
            _ => 19,
        };
        if (Kill(pid, number) != 0)
            throw new InvalidOperationException($"kill({pid}, {number}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
