using System.Diagnostics;
using System.Text;
using Mesh.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// kazoo_cluster.py (Debian's python3-kazoo, for /usr/bin/python3) as a process the test talks to
/// line by line; killed on dispose, bounded to 2 minutes.
/// </summary>
internal sealed class KazooCluster : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";

    private readonly Process _process;
    private readonly StringBuilder _text = new();
    private readonly List<string> _lines = [];
    private readonly CancellationTokenSource _limit = new(TimeSpan.FromMinutes(2));

    private KazooCluster(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Add(e.Data, stdout: true);
        _process.ErrorDataReceived += (_, e) => Add(e.Data, stdout: false);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static KazooCluster Start(params string[] arguments) =>
        new([Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "kazoo_cluster.py"), .. arguments]);

    public static KazooCluster StartRaw(string[] arguments) => new(arguments);

    private void Add(string? line, bool stdout)
    {
        if (line is null)
            return;
        lock (_text)
        {
            _text.Append(line).Append('\n');
            if (stdout)
                _lines.Add(line);
        }
    }

    public async Task<string> WaitForLineAsync(string prefix)
    {
        while (true)
        {
            lock (_text)
            {
                if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
                    return line;
                if (_process.HasExited || _limit.IsCancellationRequested)
                    throw new InvalidOperationException($"kazoo never printed '{prefix}':\n{_text}");
            }
            await Task.Delay(50);
        }
    }

    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public async Task<(int Code, string Output)> WaitExitAsync()
    {
        try
        {
            await _process.WaitForExitAsync(_limit.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            lock (_text)
                throw new TimeoutException($"kazoo did not finish in 2 minutes; output so far:\n{_text}");
        }
        lock (_text)
            return (_process.ExitCode, _text.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _limit.Dispose();
    }

    /// <summary>Skips the test where kazoo is not installed (fails where ./test.sh installed it).</summary>
    public static async Task RequireAsync()
    {
        var installed = false;
        if (File.Exists(Python))
        {
            await using var probe = StartRaw(["-c", "import kazoo"]);
            installed = (await probe.WaitExitAsync()).Code == 0;
        }
        RequiredTool.Check(installed ? null : $"{Python} with python3-kazoo (scripts/install-test-deps.sh installs it)");
    }
}
