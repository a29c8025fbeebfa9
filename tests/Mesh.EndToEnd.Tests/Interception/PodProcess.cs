using System.Diagnostics;
using System.Text;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// A long-running child process inside a network namespace (a process cannot be moved into one
/// in-process), its output kept for diagnostics; killed with its children on dispose.
/// </summary>
internal sealed class PodProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PodProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    public static PodProcess Start(string name, string ns, int? uid, string[] command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var argv = PodNetwork.InNamespace(ns, uid, command);
        var start = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in argv.Skip(1))
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        var process = new Process { StartInfo = start };
        var pod = new PodProcess(name, process);
        process.OutputDataReceived += (_, e) => pod.Append(e.Data);
        process.ErrorDataReceived += (_, e) => pod.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return pod;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }
        _process.Dispose();
    }
}
