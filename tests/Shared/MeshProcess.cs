using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Xunit;

namespace Mesh.Testing;

/// <summary>What a <c>mesh</c> process that ran to its end printed, and how it exited.</summary>
internal sealed record MeshRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Both outputs, standard output first.</summary>
    public string Output => Stdout + Stderr;

    public void Deconstruct(out int exitCode, out string output) => (exitCode, output) = (ExitCode, Output);
}

/// <summary>
/// The one way tests run the built binaries (<c>mesh.dll</c>, <c>mesh-sidecar.dll</c>, copied next
/// to the tests by a project reference) as real processes: <see cref="RunAsync(string[])"/> to the
/// end with both outputs captured, or <see cref="Start(string[])"/> for a server that a test waits
/// on line by line, signals and stops. <see cref="StartCommand"/> starts any other command the same
/// way (a mesh process inside a network namespace, a registry node the nemesis crashes). A process
/// is never left behind: a timeout or dispose kills it with its children.
/// </summary>
internal sealed class MeshProcess : IAsyncDisposable
{
    public const string Mesh = "mesh.dll";
    public const string Sidecar = "mesh-sidecar.dll";
    public const int Sigterm = 15;

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    // Lines printed so far, standard output and error interleaved; the oldest go first past _linesKept.
    private readonly Queue<string> _lines = new();
    private readonly int _linesKept;
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MeshProcess(ProcessStartInfo start, int? linesKept = null, Func<ProcessStartInfo, Process>? spawn = null)
    {
        _linesKept = linesKept ?? int.MaxValue;
        Process = spawn?.Invoke(start) ?? new Process { StartInfo = start };
        Process.EnableRaisingEvents = true;
        Process.OutputDataReceived += (_, e) => OnLine(e.Data);
        Process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        Process.Exited += (_, _) => _exited.TrySetResult();
        if (spawn is null)
            Process.Start();
        else if (Process.HasExited)
            _exited.TrySetResult(); // exited before anyone listened
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public int Id => Process.Id;

    public bool HasExited => Process.HasExited;

    /// <summary>The exit code once the process has exited (128 + signal when killed), else null.</summary>
    public int? ExitCode => Process.HasExited ? Process.ExitCode : null;

    /// <summary>Every line printed so far (the last ones, when started with a limit), standard output and error interleaved as they came.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
                return string.Concat(_lines.Select(l => l + "\n"));
        }
    }

    /// <summary>The lines of <see cref="Output"/>.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    /// <summary>The start of <c>dotnet DLL ARGS</c> with both outputs redirected.</summary>
    public static ProcessStartInfo StartInfo(string dll, IEnumerable<string> args, bool redirectInput = false)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>Runs <c>mesh ARGS</c> to its end (killed after 60 s).</summary>
    public static Task<MeshRun> RunAsync(params string[] args) => RunAsync(Mesh, args);

    /// <summary>
    /// Runs <paramref name="dll"/> to its end, with <paramref name="input"/> on its standard input
    /// (closed after it; none if null). After <paramref name="timeout"/> (60 s) it is killed and
    /// the test fails with what it printed.
    /// </summary>
    public static async Task<MeshRun> RunAsync(string dll, string[] args, string? input = null, TimeSpan? timeout = null)
    {
        using var process = Process.Start(StartInfo(dll, args, redirectInput: input is not null))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{dll} {string.Join(' ', args)} did not exit within {(timeout ?? DefaultTimeout).TotalSeconds:0} s; it printed:\n{await stdout}{await stderr}");
        }

        return new MeshRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>mesh ARGS</c> and keeps what it prints.</summary>
    public static MeshProcess Start(params string[] args) => new(StartInfo(Mesh, args));

    /// <summary>
    /// Starts <c>mesh ARGS</c> handing it <paramref name="socket"/> as an open file descriptor (its
    /// number is <c>socket.Handle</c>, e.g. for <c>--listen-peer fd:N</c>) and keeps what it prints.
    /// </summary>
    public static MeshProcess StartInheriting(Socket socket, params string[] args) => Start(start => InheritingSocket.Start(start, socket), args);

    /// <summary>Starts <paramref name="dll"/> with <paramref name="args"/> and keeps what it prints.</summary>
    public static MeshProcess StartDll(string dll, params string[] args) => new(StartInfo(dll, args));

    /// <summary>Starts <paramref name="dll"/> with <paramref name="args"/> through <paramref name="spawn"/> (which may change its environment first) and keeps what it prints.</summary>
    public static MeshProcess StartDll(string dll, Func<ProcessStartInfo, Process> spawn, params string[] args) => new(StartInfo(dll, args), spawn: spawn);

    /// <summary>
    /// Starts <c>mesh ARGS</c> through <paramref name="spawn"/>, which starts the process it is given
    /// (e.g. <c>psi =&gt; InheritingSocket.Start(psi, socket)</c>, to hand it a listener bound at port 0).
    /// </summary>
    public static MeshProcess Start(Func<ProcessStartInfo, Process> spawn, params string[] args) => new(StartInfo(Mesh, args), spawn: spawn);

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="args"/> (no shell) and keeps what it
    /// prints: every line, or the last <paramref name="linesKept"/> for a process that runs long.
    /// </summary>
    public static MeshProcess StartCommand(
        string fileName,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        int? linesKept = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return new(start, linesKept);
    }

    /// <summary>
    /// The first line (already printed or still to come) that <paramref name="match"/> accepts. Fails
    /// the test with the output so far when the process exits first or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            foreach (var line in _lines)
            {
                if (match(line.TrimEnd('\r')))
                    return line.TrimEnd('\r');
            }
            _waiters.Add((match, found));
        }

        var first = await Task.WhenAny(found.Task, _exited.Task, Task.Delay(timeout));
        if (first == found.Task)
            return await found.Task;
        // Lines printed just before the exit may still be on their way.
        if (first == _exited.Task)
            Process.WaitForExit();
        if (found.Task.IsCompleted)
            return await found.Task;
        Assert.Fail(first == _exited.Task
            ? $"the process exited ({Process.ExitCode}) before printing the line waited for; it printed:\n{Output}"
            : $"no such line within {timeout.TotalSeconds:0} s; the process printed:\n{Output}");
        return "";
    }

    /// <summary>The first match of <paramref name="pattern"/> in a line, as <see cref="WaitForLineAsync(Func{string, bool}, TimeSpan)"/>.</summary>
    public async Task<Match> WaitForMatchAsync(Regex pattern, TimeSpan timeout) =>
        pattern.Match(await WaitForLineAsync(pattern.IsMatch, timeout));

    /// <summary>Sends <paramref name="signal"/> (e.g. <see cref="Sigterm"/>); true when it was delivered.</summary>
    public bool Signal(int signal) => Kill(Process.Id, signal) == 0;

    /// <summary>Waits for the exit (failing the test after <paramref name="timeout"/>) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_exited.Task, Task.Delay(timeout)) != _exited.Task)
            Assert.Fail($"the process did not exit within {timeout.TotalSeconds:0} s; it printed:\n{Output}");
        Process.WaitForExit(); // drains the output
        return Process.ExitCode;
    }

    /// <summary>SIGTERM, up to <paramref name="grace"/> for a clean exit, then SIGKILL to whatever is left.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!Process.HasExited && Signal(Sigterm))
            await Task.WhenAny(_exited.Task, Task.Delay(grace));
        await KillAsync();
    }

    /// <summary>SIGKILL to the process and its children, then waits until it is reaped; nothing if it already exited.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // exited between the check and the kill
        }
        await Process.WaitForExitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        List<TaskCompletionSource<string>> found = [];
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > _linesKept)
                _lines.Dequeue();
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    found.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }
        foreach (var waiter in found)
            waiter.TrySetResult(line);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
