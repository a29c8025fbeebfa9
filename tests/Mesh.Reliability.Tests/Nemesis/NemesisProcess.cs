using System.Runtime.InteropServices;
using Mesh.Testing;

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
/// with the same command line — a registry node under test. Each incarnation is a
/// <see cref="MeshProcess"/>; the recent output of all of them is kept for the report of a failed run.
/// </summary>
internal sealed class NemesisProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 200;

    private readonly string _fileName;
    private readonly string[] _arguments;
    private readonly IReadOnlyDictionary<string, string>? _environment;
    private readonly string? _workingDirectory;
    // The last lines of the incarnations before the current one.
    private readonly Queue<string> _earlierOutput = new();
    private MeshProcess _process;

    private NemesisProcess(string fileName, string[] arguments, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        (_fileName, _arguments, _environment, _workingDirectory) = (fileName, arguments, environment, workingDirectory);
        _process = Launch();
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> (no shell).</summary>
    public static NemesisProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null) =>
        new(fileName, [.. arguments], environment, workingDirectory);

    public string FileName => _fileName;

    public IReadOnlyList<string> Arguments => _arguments;

    /// <summary>The id of the current incarnation (it changes on restart).</summary>
    public int Pid => _process.Id;

    /// <summary>How many times <see cref="RestartAsync"/> started a new incarnation.</summary>
    public int Restarts { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code of the current incarnation once it has exited (128 + signal when killed).</summary>
    public int? ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote (stdout and stderr interleaved), across restarts.</summary>
    public IReadOnlyList<string> RecentOutput
    {
        get
        {
            lock (_earlierOutput)
                return [.. _earlierOutput.Concat(_process.Lines).TakeLast(OutputLinesKept)];
        }
    }

    public ProcessRunState State => _process.HasExited ? ProcessRunState.Gone : StateOf(_process.Id);

    /// <summary>SIGKILL, then waits until the process is reaped. A no-op if it already exited.</summary>
    public Task KillAsync(CancellationToken cancellationToken = default) => _process.KillAsync(cancellationToken);

    /// <summary>SIGSTOP: the process is frozen (its sockets stay open, its peers see silence).</summary>
    public void Pause() => Signal(SignalNumber.Stop);

    /// <summary>SIGCONT: a paused process carries on.</summary>
    public void Resume() => Signal(SignalNumber.Continue);

    /// <summary>Kills the current incarnation if it still runs, and starts the same command again.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync(cancellationToken);
        lock (_earlierOutput)
        {
            foreach (var line in _process.Lines)
                _earlierOutput.Enqueue(line);
            while (_earlierOutput.Count > OutputLinesKept)
                _earlierOutput.Dequeue();
        }
        await _process.DisposeAsync();
        _process = Launch();
        Restarts++;
    }

    // A stopped process still dies of SIGKILL; no need to thaw it first.
    public ValueTask DisposeAsync() => _process.DisposeAsync();

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

    private MeshProcess Launch() =>
        MeshProcess.StartCommand(_fileName, _arguments, _environment, _workingDirectory, OutputLinesKept);

    private enum SignalNumber
    {
        Stop,
        Continue,
    }

    private void Signal(SignalNumber signal)
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
        if (!_process.Signal(number))
            throw new InvalidOperationException($"kill({_process.Id}, {number}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
