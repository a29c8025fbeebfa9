using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Reliability.Tests.Nemesis;
using Mesh.Testing;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>What happened when a node was restarted on a torn data file.</summary>
internal sealed record TearOutcome(int Node, string File, string How, bool Recovered, string Detail)
{
    public override string ToString() =>
        $"node {Node}: {How} of {File} -> {(Recovered ? "recovered (ready again)" : "REFUSED to start")}{(Detail.Length > 0 ? $": {Detail}" : "")}";
}

/// <summary>
/// A registry cluster of N real <c>mesh registry</c> processes, one per network namespace of a
/// <see cref="NetworkLab"/>, driven by the nemesis: SIGKILL + restart, SIGSTOP/SIGCONT,
/// partitions, whole-cluster kill, and torn last writes of a stopped node's log or snapshot.
/// Every node's Raft port sits behind a <see cref="FaultyTcpRelay"/> at the lab's host address:
/// <c>--peers</c> lists the relays (the advertised Raft addresses), each node listens apart from
/// it (<c>--listen-peer</c>) and publishes its client address itself (no <c>@client</c>). The
/// relays hold bytes on the links <see cref="Links"/> says are cut: a minority or the leader
/// isolated, a bridge, flapping, one-way loss. Every fault it applies is counted and logged, with
/// the time it was applied (<see cref="Injections"/>). The nodes hold a cluster key, so their
/// peers speak TLS through the relays, which see only bytes.
/// </summary>
internal sealed class ProcessCluster : INemesisCluster, IAsyncDisposable
{
    public const int ClientPort = 7001;
    public const int RaftPort = 7101;

    private readonly NetworkLab _lab;
    private readonly string _root;
    private readonly Action<string> _log;
    private readonly NemesisProcess?[] _processes;
    private readonly bool[] _paused;
    private readonly TornFileBackup?[] _tears;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(1) };
    private readonly ConcurrentQueue<TearOutcome> _tearOutcomes = new();
    private readonly ConcurrentDictionary<string, int> _faults = new(StringComparer.Ordinal);
    private readonly List<Task> _background = [];
    private readonly Lock _gate = new();
    private readonly List<FaultyTcpRelay> _relays = [];
    private readonly ConcurrentQueue<(string Kind, long At)> _injections = new();
    private CancellationTokenSource? _flapping;
    private Task _flap = Task.CompletedTask;

    private ProcessCluster(NetworkLab lab, string root, Action<string> log)
    {
        Links = new PeerLinks(lab.Nodes);
        _lab = lab;
        _root = root;
        _log = log;
        _processes = new NemesisProcess?[lab.Nodes];
        _paused = new bool[lab.Nodes];
        _tears = new TornFileBackup?[lab.Nodes];
    }

    public int Nodes => _lab.Nodes;

    /// <summary>The peer links the relays cut.</summary>
    public PeerLinks Links { get; }

    /// <summary>Every fault applied, by kind, with its <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
    public IReadOnlyList<(string Kind, long At)> Injections => _injections.ToArray();

    /// <summary>Faults applied so far, by kind (kill, restart, pause, partition, tear, cluster-kill, leader-kill).</summary>
    public IReadOnlyDictionary<string, int> Faults => _faults;

    public IReadOnlyList<TearOutcome> TearOutcomes => _tearOutcomes.ToArray();

    public IReadOnlyList<Uri> ClientUrls => Enumerable.Range(0, Nodes).Select(ClientUrl).ToArray();

    public Uri ClientUrl(int node) => new($"http://{_lab.AddressOf(node)}:{ClientPort}/");

    public string DataDirectory(int node) => Path.Combine(_root, $"n{node + 1}");

    /// <param name="snapshotKeep">The log tail each snapshot keeps (<c>--snapshot-keep</c>); the registry's default when null.</param>
    public static async Task<ProcessCluster> StartAsync(NetworkLab lab, string root, int snapshotEvery, Action<string> log, int? snapshotKeep = null)
    {
        var cluster = new ProcessCluster(lab, root, log);
        try
        {
            // A relay in front of each node's Raft port; it tells the peer on the other end by
            // its source address and holds the bytes of cut links.
            for (var node = 0; node < lab.Nodes; node++)
            {
                var target = node;
                cluster._relays.Add(FaultyTcpRelay.Start(new IPEndPoint(lab.AddressOf(node), RaftPort), lab.HostAddress,
                    (remote, toTarget) => lab.NodeOf(remote.Address) is { } from &&
                        (toTarget ? cluster.Links.IsCut(from, target) : cluster.Links.IsCut(target, from))));
            }
            var peers = string.Join(",", Enumerable.Range(0, lab.Nodes).Select(n => $"{n + 1}={cluster._relays[n].Endpoint}"));
            var mesh = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
            // The nodes listen beyond loopback, so they need the cluster key; the relays carry its TLS as any bytes.
            Directory.CreateDirectory(root);
            var keyFile = Path.Combine(root, "cluster.key");
            await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
            for (var node = 0; node < lab.Nodes; node++)
            {
                Directory.CreateDirectory(cluster.DataDirectory(node));
                cluster._processes[node] = NemesisProcess.Start("ip",
                [
                    "netns", "exec", lab.NamespaceOf(node), "dotnet", mesh, "registry",
                    "--id", (node + 1).ToString(CultureInfo.InvariantCulture),
                    "--peers", peers,
                    "--listen-peer", $"{lab.AddressOf(node)}:{RaftPort}",
                    "--data", cluster.DataDirectory(node),
                    "--client", $"{lab.AddressOf(node)}:{ClientPort}",
                    "--snapshot-every", snapshotEvery.ToString(CultureInfo.InvariantCulture),
                    "--cluster-key-file", keyFile,
                    .. (snapshotKeep is { } keep ? ["--snapshot-keep", keep.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()),
                ]);
            }
            log($"cluster: {lab.Nodes} nodes, --peers {peers}, data under {root}");
            await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    // ---- INemesisCluster ----

    public Task IsolateAsync(IReadOnlyList<int> nodes)
    {
        Links.Isolate(nodes);
        Count("partition");
        return Task.CompletedTask;
    }

    public async Task<int?> IsolateLeaderAsync()
    {
        var leader = await FindLeaderAsync();
        if (leader is { } l)
        {
            Links.Isolate([l]);
            Count("leader-isolation");
        }
        return leader;
    }

    public Task CutLinkAsync(int a, int b, bool bothWays)
    {
        Links.Cut(a, b, bothWays);
        Count(bothWays ? "bridge" : "one-way");
        return Task.CompletedTask;
    }

    public async Task FlapAsync(IReadOnlyList<int> nodes)
    {
        await StopFlappingAsync();
        Count("flap");
        var stop = _flapping = new CancellationTokenSource();
        var random = new Random(HashCode.Combine(nodes.Count, nodes.Sum(), Environment.TickCount));
        _flap = Task.Run(async () =>
        {
            try
            {
                for (var cut = true; !stop.IsCancellationRequested; cut = !cut)
                {
                    if (cut)
                        Links.Isolate(nodes);
                    else
                        Links.HealAll();
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(150, 900)), stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    private async Task StopFlappingAsync()
    {
        if (_flapping is { } flapping)
        {
            await flapping.CancelAsync();
            await _flap;
            flapping.Dispose();
            _flapping = null;
        }
    }

    public async Task HealAsync(IReadOnlyList<int> nodes)
    {
        await StopFlappingAsync();
        Links.HealAll();
    }

    public async Task KillAsync(int node)
    {
        await Process(node).KillAsync();
        lock (_gate)
            _paused[node] = false;
        Count("kill");
    }

    public async Task<int?> KillLeaderAsync()
    {
        var leader = await FindLeaderAsync();
        if (leader is { } l)
        {
            await Process(l).KillAsync();
            lock (_gate)
                _paused[l] = false;
            Count("leader-kill");
        }
        return leader;
    }

    public async Task RestartAsync(int node)
    {
        var process = Process(node);
        if (!process.HasExited)
            return; // "bring back up": a node that runs stays as it is
        await process.RestartAsync();
        Count("restart");
        if (_tears[node] is { } tear)
        {
            _tears[node] = null;
            lock (_background)
                _background.Add(Task.Run(() => WatchTornRestartAsync(node, tear)));
        }
    }

    public async Task RestartDownAsync()
    {
        for (var node = 0; node < Nodes; node++)
            await RestartAsync(node);
    }

    public Task PauseAsync(int node)
    {
        var process = Process(node);
        if (process.HasExited)
            return Task.CompletedTask;
        process.Pause();
        lock (_gate)
            _paused[node] = true;
        Count("pause");
        return Task.CompletedTask;
    }

    public Task ResumeAsync(int node)
    {
        lock (_gate)
        {
            if (!_paused[node])
                return Task.CompletedTask;
            _paused[node] = false;
        }
        var process = Process(node);
        if (!process.HasExited)
            process.Resume();
        return Task.CompletedTask;
    }

    public Task SetLatencyAsync(int node, TimeSpan latency)
    {
        // The lab has no netem (the kernel here lacks sch_netem): latency is not injected.
        if (latency > TimeSpan.Zero)
            _log($"nemesis: latency on node {node} is not supported by the network lab; skipped");
        return Task.CompletedTask;
    }

    public async Task KillAndTearAsync(int node, int bytes)
    {
        await KillAsync(node);
        var tear = TornFileBackup.Tear(DataDirectory(node), bytes);
        if (tear is null)
        {
            _log($"nemesis: node {node} has no data file to tear");
            return;
        }
        _tears[node] = tear;
        Count("tear");
        _log($"nemesis: tore node {node}: {tear.How} of {tear.Path}");
    }

    // ---- cluster state ----

    /// <summary>The node that says it leads (highest term wins), among nodes that answer.</summary>
    /// <summary>
    /// The leader once one is seen, asking again until <paramref name="timeout"/>: right after a
    /// start or a heal, and on a loaded machine, a look can fall between two terms or on a node
    /// whose status takes over a second.
    /// </summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (await FindLeaderAsync() is { } leader)
                return leader;
            if (waited.Elapsed > timeout)
                throw new TimeoutException($"no leader seen within {timeout.TotalSeconds:0} s:\n{string.Join("\n", Enumerable.Range(0, Nodes).Select(Output))}");
            await Task.Delay(100);
        }
    }

    public async Task<int?> FindLeaderAsync()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, Nodes).Select(async node =>
        {
            var status = await StatusAsync(node);
            return (node, status);
        }));
        return answers
            .Where(a => a.status is { Role: "leader" })
            .OrderByDescending(a => a.status!.Term)
            .Select(a => (int?)a.node)
            .FirstOrDefault();
    }

    public sealed record NodeStatus(string Role, long Term, long CommitIndex, long AppliedIndex);

    public async Task<NodeStatus?> StatusAsync(int node)
    {
        lock (_gate)
        {
            if (_paused[node])
                return null;
        }
        if (Process(node).HasExited)
            return null;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var text = await _http.GetStringAsync(new Uri(ClientUrl(node), "v1/status"), cts.Token);
            using var json = JsonDocument.Parse(text);
            var r = json.RootElement;
            return new NodeStatus(r.GetProperty("role").GetString() ?? "", r.GetProperty("term").GetInt64(),
                r.GetProperty("commitIndex").GetInt64(), r.GetProperty("appliedIndex").GetInt64());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task<bool> ReadyAsync(int node)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            using var response = await _http.GetAsync(new Uri(ClientUrl(node), "readyz"), cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until every node runs, is ready (knows a leader, caught up) and one leads.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var ready = await Task.WhenAll(Enumerable.Range(0, Nodes).Select(ReadyAsync));
            if (ready.All(r => r) && await FindLeaderAsync() is not null)
                return;
            for (var node = 0; node < Nodes; node++)
            {
                if (Process(node).HasExited && _tears[node] is null)
                    throw new InvalidOperationException($"node {node} exited ({Process(node).ExitCode}):\n{Output(node)}");
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"cluster not healthy after {timeout.TotalSeconds:0} s (ready: {string.Join(",", ready)}):\n{string.Join("\n", Enumerable.Range(0, Nodes).Select(Output))}");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits for the background checks of torn-write restarts to finish.</summary>
    public async Task SettleAsync()
    {
        Task[] pending;
        lock (_background)
            pending = [.. _background];
        await Task.WhenAll(pending);
    }

    public string Output(int node) =>
        $"--- node {node} (pid {(_processes[node] is { } p ? p.Pid : 0)}, restarts {_processes[node]?.Restarts}) last output ---\n" +
        string.Join("\n", _processes[node]?.RecentOutput.TakeLast(40) ?? []);

    /// <summary>
    /// After a restart on a torn file: the node must either become ready (it recovered) or exit
    /// with a clear error (it refused). A refusal is a finding; the nemesis then puts the torn
    /// bytes back and restarts it, so the rest of the run goes on with a whole cluster.
    /// </summary>
    private async Task WatchTornRestartAsync(int node, TornFileBackup tear)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (Process(node).HasExited)
            {
                var output = Process(node).RecentOutput.TakeLast(8).ToArray();
                var detail = $"exit code {Process(node).ExitCode}; last output: {string.Join(" | ", output)}";
                _tearOutcomes.Enqueue(new TearOutcome(node, tear.Path, tear.How, Recovered: false, detail));
                _log($"nemesis: node {node} refused to start on the torn file ({detail}); restoring the torn bytes and restarting it");
                tear.Restore();
                await Process(node).RestartAsync();
                return;
            }
            if (await ReadyAsync(node))
            {
                _tearOutcomes.Enqueue(new TearOutcome(node, tear.Path, tear.How, Recovered: true, ""));
                _log($"nemesis: node {node} recovered from the torn write ({tear.How} of {Path.GetFileName(tear.Path)})");
                return;
            }
            await Task.Delay(250);
        }
        // Still running but not ready: possibly fine (e.g. a partition or a leaderless moment).
        _tearOutcomes.Enqueue(new TearOutcome(node, tear.Path, tear.How, Recovered: true, "running, but not ready within 15 s"));
    }

    private NemesisProcess Process(int node) => _processes[node] ?? throw new InvalidOperationException($"node {node} was never started");

    private void Count(string fault)
    {
        _faults.AddOrUpdate(fault, 1, (_, n) => n + 1);
        if (fault != "restart")
            _injections.Enqueue((fault, System.Diagnostics.Stopwatch.GetTimestamp()));
    }

    public async ValueTask DisposeAsync()
    {
        await StopFlappingAsync();
        Links.HealAll();
        foreach (var process in _processes)
        {
            if (process is not null)
                await process.DisposeAsync();
        }
        foreach (var relay in _relays)
            await relay.DisposeAsync();
        _http.Dispose();
    }
}

/// <summary>
/// A torn last write on a stopped node, with the original bytes kept so it can be undone. The
/// WAL's data chunks are preallocated (4 MiB, memory-mapped), so cutting a chunk's length would
/// only drop zeros; the tear instead zeroes the last written bytes of the newest chunk (the end
/// of the last appended entry never reached the disk). A snapshot is a plain file: the tear
/// truncates it. Odd sizes tear the snapshot when there is one, even sizes the log.
/// </summary>
internal sealed class TornFileBackup
{
    private readonly byte[] _original;
    private readonly long _offset;
    private readonly long _lengthBefore;

    private TornFileBackup(string path, string how, long offset, byte[] original, long lengthBefore)
    {
        Path = path;
        How = how;
        _offset = offset;
        _original = original;
        _lengthBefore = lengthBefore;
    }

    public string Path { get; }

    public string How { get; }

    public static TornFileBackup? Tear(string dataDirectory, int bytes)
    {
        var snapshot = new DirectoryInfo(System.IO.Path.Combine(dataDirectory, "snapshots"));
        var newestSnapshot = snapshot.Exists
            ? snapshot.EnumerateFiles("*", SearchOption.AllDirectories).Where(f => f.Length > 0).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault()
            : null;
        if (newestSnapshot is not null && bytes % 2 == 1)
        {
            var length = newestSnapshot.Length;
            var cut = Math.Min(bytes, length);
            var original = new byte[cut];
            using (var stream = new FileStream(newestSnapshot.FullName, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Position = length - cut;
                stream.ReadExactly(original);
                stream.SetLength(length - cut);
                stream.Flush(flushToDisk: true);
            }
            return new TornFileBackup(newestSnapshot.FullName, $"truncated the last {cut} bytes of snapshot", length - cut, original, length);
        }

        var data = new DirectoryInfo(System.IO.Path.Combine(dataDirectory, "wal", "data"));
        if (!data.Exists)
            return null;
        var chunk = data.EnumerateFiles().Where(f => f.Length > 0)
            .OrderByDescending(f => long.TryParse(f.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .FirstOrDefault();
        if (chunk is null)
            return null;
        var content = File.ReadAllBytes(chunk.FullName);
        var used = content.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        if (used == 0)
            return null;
        var zeroed = Math.Min(bytes, used);
        var saved = content.AsSpan(used - zeroed, zeroed).ToArray();
        using (var stream = new FileStream(chunk.FullName, FileMode.Open, FileAccess.Write))
        {
            stream.Position = used - zeroed;
            stream.Write(new byte[zeroed]);
            stream.Flush(flushToDisk: true);
        }
        return new TornFileBackup(chunk.FullName, $"zeroed the last {zeroed} written bytes (of {used}) of log chunk", used - zeroed, saved, content.Length);
    }

    /// <summary>Puts the torn bytes back (the "replace the disk" heal when a node refuses to start).</summary>
    public void Restore()
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Write);
        if (stream.Length < _lengthBefore)
            stream.SetLength(_lengthBefore);
        stream.Position = _offset;
        stream.Write(_original);
        stream.Flush(flushToDisk: true);
    }
}
