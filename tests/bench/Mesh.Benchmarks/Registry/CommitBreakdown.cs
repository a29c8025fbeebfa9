using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Hosting;
using Mesh.Registry.PeerTls;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// Where a write's time goes on the Raft commit path (docs/benchmarks.md, "The Raft commit path"):
/// a 3-node registry in this process on loopback, writes proposed straight to the leader's
/// consensus (no HTTP, no ZooKeeper port), timed end to end, next to DotNext's own meters for the
/// parts inside the library (replication round, the AppendEntries call to each follower, every
/// log flush, the apply) and a bare fsync on the same disk.  Bounded by the write count.
/// </summary>
internal static class CommitBreakdown
{
    private static readonly string[] Instruments =
    [
        "broadcast-time", "response-time", "entries-flush-duration", "entries-apply-duration",
        "entries-flush-count", "entries-append-count", "entries-commit-count",
    ];

    public static async Task RunAsync(int writes, int outstanding, int warmUp, ClusterKey? key = null)
    {
        await using var cluster = await LoopbackCluster.StartAsync(key);
        var (root, nodes, leader) = (cluster.Root, cluster.Nodes, cluster.Leader);
        Console.WriteLine($"peer transport: {(key is null ? "plain TCP" : "mutual TLS 1.3 (cluster key)")}");
        Console.WriteLine($"bare fsync of a 4 KiB write on {Path.GetTempPath()}: {BareFsyncMs(root, 200):0.000} ms median");
        // Warm-up: JIT, connections, the first chunk files.
        await WriteAsync(leader, "warm", warmUp, 8);

        var recorded = new ConcurrentDictionary<string, List<double>>();
        var events = new ConcurrentQueue<MeterEvent>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (Instruments.Contains(instrument.Name))
                listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<double>((i, v, _, _) =>
        {
            Record(recorded, i.Name, v);
            events.Enqueue(new MeterEvent(i.Name, Stopwatch.GetTimestamp(), v));
        });
        meters.SetMeasurementEventCallback<long>((i, v, _, _) => Record(recorded, i.Name, v));
        meters.SetMeasurementEventCallback<int>((i, v, _, _) => Record(recorded, i.Name, v));
        meters.Start();

        var syncsBefore = nodes.Sum(n => ((RaftConsensus)n.Consensus).LogSyncs ?? 0);
        var started = Stopwatch.GetTimestamp();
        var spans = new List<(long Start, long End)>(writes);
        var latencies = await WriteAsync(leader, "w", writes, outstanding, spans);
        var elapsed = Stopwatch.GetElapsedTime(started);
        meters.Dispose();
        if (outstanding == 1)
            PrintTimeline(spans, events.ToArray());

        Console.WriteLine($"raft log: {((RaftConsensus)leader.Consensus).LogKind} ({RaftLogKinds.EnvironmentVariable} selects it)");
        Console.WriteLine($"{writes} writes, {outstanding} outstanding: {writes / elapsed.TotalSeconds:0} writes/s, latency p50 {Percentile(latencies, 50):0.000} ms, p99 {Percentile(latencies, 99):0.000} ms");
        if (((RaftConsensus)leader.Consensus).LogKind == RaftLogKind.Mesh)
        {
            // The registry's own log counts its disk syncs (DotNext's flush meters below stay silent for it).
            var syncs = nodes.Sum(n => ((RaftConsensus)n.Consensus).LogSyncs ?? 0) - syncsBefore;
            Console.WriteLine($"  log syncs (fdatasync, 3 nodes): {syncs} total ({(double)syncs / writes:0.00} per write)");
        }
        foreach (var name in Instruments)
        {
            if (!recorded.TryGetValue(name, out var values))
                continue;
            lock (values)
            {
                Console.WriteLine(name.EndsWith("-count", StringComparison.Ordinal)
                    ? $"  {name}: {values.Count} events, {values.Sum():0} total ({values.Sum() / writes:0.00} per write)"
                    : $"  {name}: {values.Count} samples ({(double)values.Count / writes:0.00} per write), p50 {Percentile(values, 50):0.000} ms, p90 {Percentile(values, 90):0.000} ms");
            }
        }
    }

    /// <summary>A 3-node registry in this process on loopback (with <c>key</c>: peers over mutual TLS), its leader elected.</summary>
    internal sealed class LoopbackCluster : IAsyncDisposable
    {
        private LoopbackCluster(string root, RegistryNode[] nodes)
        {
            Root = root;
            Nodes = nodes;
        }

        public string Root { get; }

        public RegistryNode[] Nodes { get; }

        public RegistryNode Leader { get; private set; } = null!;

        public static async Task<LoopbackCluster> StartAsync(ClusterKey? key)
        {
            var root = Path.Combine(Path.GetTempPath(), "mesh-commit-breakdown", Guid.NewGuid().ToString("N"));
            var listeners = Enumerable.Range(0, 3).Select(_ => (Peer: BoundListener.Loopback(), Client: BoundListener.Loopback())).ToArray();
            var members = listeners.Select((l, i) => new ClusterMember(i + 1, l.Peer.EndPoint, l.Client.EndPoint)).ToArray();
            var cluster = new LoopbackCluster(root, [.. members.Select(m => new RegistryNode(new RegistryNodeOptions
            {
                Id = m.Id,
                Members = members,
                DataDirectory = Path.Combine(root, $"node{m.Id}"),
                ClientEndPoint = m.ClientEndPoint!,
                PeerListener = listeners[m.Id - 1].Peer,
                ClientListener = listeners[m.Id - 1].Client,
                LoggerFactory = NullLoggerFactory.Instance,
                ClusterKey = key,
            }))]);
            try
            {
                await Task.WhenAll(cluster.Nodes.Select(n => n.StartAsync()));
                RegistryNode? leader = null;
                for (var i = 0; i < 200 && (leader = cluster.Nodes.FirstOrDefault(n => n.IsLeader)) is null; i++)
                    await Task.Delay(50);
                cluster.Leader = leader ?? throw new InvalidOperationException("no leader within 10 s");
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes)
                await node.DisposeAsync();
            Directory.Delete(Root, recursive: true);
        }
    }

    private static void Record(ConcurrentDictionary<string, List<double>> recorded, string name, double value)
    {
        var list = recorded.GetOrAdd(name, _ => []);
        lock (list)
            list.Add(value);
    }

    /// <summary>A duration DotNext measured (it tags the log's flushes with no node), and when it ended.</summary>
    private sealed record MeterEvent(string Name, long At, double Ms);

    /// <summary>
    /// One write at a time, so every meter event between a write's start and its answer belongs to
    /// it (or to the commit announcement of the one before): the n-th event of each kind, median
    /// time from the start to its end, is the write's timeline. Events seen in fewer than half of
    /// the writes are left out.
    /// </summary>
    private static void PrintTimeline(List<(long Start, long End)> spans, MeterEvent[] events)
    {
        var offsets = new Dictionary<string, List<double>>();
        foreach (var (start, end) in spans)
        {
            var seen = new Dictionary<string, int>();
            foreach (var e in events)
            {
                if (e.At < start || e.At > end)
                    continue;
                var n = seen[e.Name] = seen.GetValueOrDefault(e.Name) + 1;
                var key = $"{e.Name} #{n}";
                if (!offsets.TryGetValue(key, out var list))
                    offsets[key] = list = [];
                list.Add(Stopwatch.GetElapsedTime(start, e.At).TotalMilliseconds);
                var durationKey = $"{e.Name} #{n} duration";
                if (!offsets.TryGetValue(durationKey, out var durations))
                    offsets[durationKey] = durations = [];
                durations.Add(e.Ms);
            }
        }
        Console.WriteLine("  timeline of a sequential write (median ms after the proposal; in how many of the writes it happened):");
        foreach (var (key, values) in offsets.Where(o => !o.Key.EndsWith(" duration", StringComparison.Ordinal) && o.Value.Count * 2 >= spans.Count).OrderBy(o => Percentile(o.Value, 50)))
            Console.WriteLine($"    {key}: ends at {Percentile(values, 50):0.000}, took {Percentile(offsets[key + " duration"], 50):0.000} ({100.0 * values.Count / spans.Count:0}% of writes)");
        Console.WriteLine($"    answered: {Percentile(spans.Select(s => Stopwatch.GetElapsedTime(s.Start, s.End).TotalMilliseconds).ToList(), 50):0.000}");
    }

    internal static async Task<List<double>> WriteAsync(RegistryNode leader, string prefix, int count, int outstanding, List<(long Start, long End)>? spans = null)
    {
        var latencies = new List<double>(count);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, outstanding).Select(async _ =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < count;)
            {
                var command = new CreateNode(new CommandHeader(Guid.Empty, 0, 0), $"/bench-{prefix}-{i}", new byte[100]);
                var bytes = CommandCodec.Encode(command);
                var t = Stopwatch.GetTimestamp();
                await leader.Consensus.ProposeAsync(bytes, CancellationToken.None);
                var done = Stopwatch.GetTimestamp();
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(t, done).TotalMilliseconds);
                    spans?.Add((t, done));
                }
            }
        }));
        return latencies;
    }

    private static double BareFsyncMs(string directory, int count)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "fsync-probe");
        var buffer = new byte[4096];
        var times = new List<double>(count);
        using (var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
        {
            for (var i = 0; i < count; i++)
            {
                var t = Stopwatch.GetTimestamp();
                RandomAccess.Write(handle, buffer, 0);
                RandomAccess.FlushToDisk(handle);
                times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        }
        File.Delete(path);
        return Percentile(times, 50);
    }

    internal static double Percentile(List<double> values, int p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
    }

    /// <summary><c>commit-breakdown [WRITES] [OUTSTANDING] [WARMUP] [--cluster-key]</c>; the flag runs the peers over mutual TLS with a new key.</summary>
    public static (int Writes, int Outstanding, int WarmUp, ClusterKey? Key) Parse(string[] args)
    {
        var key = args.Contains("--cluster-key") ? ClusterKey.Generate() : null;
        var numbers = args.Skip(1).Where(a => a != "--cluster-key").ToArray();
        return (numbers.Length > 0 ? int.Parse(numbers[0], CultureInfo.InvariantCulture) : 2000,
            numbers.Length > 1 ? int.Parse(numbers[1], CultureInfo.InvariantCulture) : 1,
            numbers.Length > 2 ? int.Parse(numbers[2], CultureInfo.InvariantCulture) : 200,
            key);
    }
}
