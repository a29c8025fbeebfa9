using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.RegistryBench;

namespace Mesh.EndToEnd.Tests;

/// <summary>
/// Runs the registry load clients' quick modes (tests/bench/registry/run.sh --quick) against a real
/// 3-node cluster of <c>mesh registry</c> child processes, so the benchmark harness keeps working:
/// Mesh.RegistryBench over HTTP, and the bench's ZooKeeper client (peers/zkbench/ZkBench.java, on
/// the official Java client) against the nodes' <c>--zk</c> ports, the bench's meshzk system.
/// </summary>
public sealed partial class RegistryBenchQuickTests : IAsyncLifetime
{
    private readonly List<Process> _nodes = [];
    private readonly string _dataRoot = Path.Combine(Path.GetTempPath(), "mesh-e2e-regbench-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int[] _clientPorts = new int[3];
    private readonly int[] _zkPorts = new int[3];

    public async Task InitializeAsync()
    {
        var meshDll = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        Assert.True(File.Exists(meshDll), $"mesh.dll not found next to the tests ({meshDll}); repo root {RepoRoot()}");
        // Nothing is picked in advance: this test binds each node's Raft listener on port 0 and
        // hands it to the node as an inherited file descriptor (--listen-peer fd:N), so --peers
        // names the ports before any node starts; each node listens for clients on port 0, names
        // that port in its start-up line and publishes it to the other members.
        var raft = Enumerable.Range(0, 3).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToArray();
        foreach (var socket in raft)
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen();
        }
        var peers = string.Join(',', raft.Select((r, i) => $"{i + 1}={r.LocalEndPoint}"));
        var started = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        for (var i = 0; i < 3; i++)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { meshDll, "registry", "--id", (i + 1).ToString(CultureInfo.InvariantCulture), "--peers", peers,
                         "--data", Path.Combine(_dataRoot, $"n{i + 1}"), "--client", "127.0.0.1:0", "--listen-peer", $"fd:{raft[i].Handle}",
                         "--zk", "127.0.0.1:0", "--zk-open" })
            {
                psi.ArgumentList.Add(a);
            }

            var p = InheritingSocket.Start(psi, raft[i]);
            raft[i].Dispose(); // the node holds it now
            var node = i;
            p.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not { } line)
                    return;
                // The ZooKeeper port is named first, then the client API's.
                if (ZooKeeperLine().Match(line) is { Success: true } zk)
                    _zkPorts[node] = IPEndPoint.Parse(zk.Groups["zk"].Value).Port;
                if (StartLine().Match(line) is not { Success: true } match)
                    return;
                _clientPorts[node] = IPEndPoint.Parse(match.Groups["client"].Value).Port;
                started[node].TrySetResult();
            };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _nodes.Add(p);
        }

        await Task.WhenAll(started.Select(t => t.Task)).WaitAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        await Eventually.TrueAsync(async () =>
        {
            Assert.All(_nodes, n => Assert.False(n.HasExited, "a registry node exited during start-up"));
            var ready = 0;
            foreach (var port in _clientPorts)
            {
                if ((await http.GetAsync($"http://127.0.0.1:{port}/readyz")).StatusCode == HttpStatusCode.OK)
                    ready++;
            }
            return ready == 3;
        }, "the 3-node registry was not ready", TimeSpan.FromSeconds(60));
    }

    [Fact(Timeout = 60_000)]
    public async Task Quick_mode_produces_numbers_for_every_shape_with_no_errors()
    {
        var json = Path.Combine(_dataRoot, "quick.json");
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var endpoints = string.Join(',', _clientPorts.Select(p => $"http://127.0.0.1:{p}"));
        var pids = string.Join(',', _nodes.Select((n, i) => $"{i + 1}={n.Id}"));
        var sw = Stopwatch.StartNew();

        var code = await BenchRunner.RunAsync(["--endpoints", endpoints, "--pids", pids, "--warmup", "0.3", "--json", json, "suite", "--quick"], output);

        var text = output.ToString();
        Assert.True(code == 0, $"exit code {code}:\n{text}");
        Console.WriteLine($"quick mode took {sw.Elapsed.TotalSeconds:0.0} s"); // reported; its bounds are the suite's own
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        Assert.DoesNotContain(lines, l => l.StartsWith("errors=", StringComparison.Ordinal) && l != "errors=0");

        string[] shapes = ["seq", "cwrite clients=1 outstanding=32", "cwrite clients=8 outstanding=4", "rseq", "rseq stale",
            "read clients=1 outstanding=32", "read stale clients=1 outstanding=32", "watch watchers=100", "failover"];
        foreach (var shape in shapes)
        {
            var line = lines.SingleOrDefault(l => l.StartsWith($"RESULT {shape} ops=", StringComparison.Ordinal));
            Assert.True(line is not null, $"no RESULT line for '{shape}':\n{text}");
            Assert.True(Field(line, "ops") > 0, $"no operations in: {line}");
            if (shape != "failover")
                Assert.True(Field(line, "ops/s") > 0 && Field(line, "p99_ms") >= Field(line, "p50_ms"), $"bad numbers in: {line}");
        }

        var failover = lines.Single(l => l.StartsWith("FAILOVER mesh", StringComparison.Ordinal));
        Assert.True(Field(failover, "kill_to_first_ok_ms") > 0, $"no recovery after the leader kill: {failover}");
        Assert.Contains(lines, l => l.StartsWith("EXTRA watch", StringComparison.Ordinal) && l.Contains("missed=0", StringComparison.Ordinal));

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var tests = doc.RootElement.GetProperty("tests").EnumerateArray().ToArray();
        Assert.Equal(shapes.Length, tests.Length);
        Assert.All(tests, t => Assert.Equal(0, t.GetProperty("errors").GetInt64()));
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Quick_mode_of_the_zookeeper_client_against_the_zk_ports_produces_numbers_for_every_shape()
    {
        const string jar = "/usr/share/java/zookeeper.jar";
        RequiredTool.Check(!File.Exists("/usr/bin/javac") ? "no JDK (javac) for java's source launcher (scripts/install-test-deps.sh installs default-jdk-headless)"
            : !File.Exists(jar) ? $"no {jar} (Debian's zookeeper package)" : null);
        Assert.All(_zkPorts, p => Assert.True(p > 0, "a node did not name its ZooKeeper port"));
        var source = Path.Combine(AppContext.BaseDirectory, "bench", "ZkBench.java");
        var psi = new ProcessStartInfo("/usr/bin/java") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-cp", $"{jar}:/usr/share/java/slf4j-nop.jar", source, string.Join(',', _zkPorts.Select(p => $"127.0.0.1:{p}")), "quick" })
            psi.ArgumentList.Add(a);
        using var java = Process.Start(psi)!;
        var stdout = java.StandardOutput.ReadToEndAsync();
        var stderr = java.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        try
        {
            await java.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            java.Kill(entireProcessTree: true);
            throw;
        }

        var text = await stdout + await stderr;
        Assert.True(java.ExitCode == 0, $"exit code {java.ExitCode}:\n{text}");
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        Assert.DoesNotContain(lines, l => l.StartsWith("errors=", StringComparison.Ordinal) && l != "errors=0");
        foreach (var shape in new[] { "seq", "cwrite sessions=1 outstanding=8", "rseq", "read sessions=1 outstanding=8", "watch watchers=5" })
        {
            var line = lines.SingleOrDefault(l => l.StartsWith($"RESULT {shape} ops=", StringComparison.Ordinal));
            Assert.True(line is not null, $"no RESULT line for '{shape}':\n{text}");
            Assert.True(Field(line, "ops") > 0 && Field(line, "p99_ms") >= Field(line, "p50_ms"), $"bad numbers in: {line}");
        }
        Assert.Contains(lines, l => l.StartsWith("EXTRA watch", StringComparison.Ordinal) && l.Contains("missed=0", StringComparison.Ordinal));
    }

    private static double Field(string line, string name)
    {
        var part = line.Split(' ').FirstOrDefault(p => p.StartsWith(name + "=", StringComparison.Ordinal));
        return part is null ? double.NaN : double.Parse(part[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"serving clients on https?://(?<client>[0-9.]+:[0-9]+)/?, peers on")]
    private static partial Regex StartLine();

    [GeneratedRegex(@"ZooKeeper clients on (?<zk>[0-9.]+:[0-9]+),")]
    private static partial Regex ZooKeeperLine();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                return dir.FullName;
        }

        return "(not found)";
    }

    public Task DisposeAsync()
    {
        foreach (var p in _nodes)
        {
            try
            {
                if (!p.HasExited)
                    p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }

        try
        {
            Directory.Delete(_dataRoot, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}
