using System.Diagnostics;
using System.Globalization;
using Mesh.Registry.PeerTls;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// What the cluster key costs on the Raft commit path (docs/benchmarks.md, "Peer TLS"): a 3-node
/// registry in this process on loopback with plain TCP peers and with mutual TLS peers, measured
/// interleaved in one run (the order alternates each round, a new cluster per measurement) so the
/// shared machine's noise falls on both. Writes are proposed straight to the leader's consensus,
/// one at a time and 32 outstanding. Bounded by the write count and the rounds.
/// </summary>
internal static class PeerTlsCost
{
    private const int WarmUp = 200;

    public static async Task RunAsync(int sequentialWrites, int concurrentWrites, int rounds)
    {
        var results = new List<Row>();
        var key = ClusterKey.Generate();
        Console.WriteLine($"peer-tls-cost: {sequentialWrites} writes 1 outstanding, {concurrentWrites} writes 32 outstanding, {rounds} rounds, "
            + $"raft log {Mesh.Registry.Consensus.RaftLogKinds.Default}, {Environment.ProcessorCount} cores, started {DateTime.UtcNow:u}");
        for (var round = 1; round <= rounds; round++)
        {
            ClusterKey?[] order = round % 2 == 1 ? [null, key] : [key, null];
            foreach (var outstanding in new[] { 1, 32 })
            {
                foreach (var variant in order)
                {
                    var transport = variant is null ? "plain" : "tls";
                    await using var cluster = await CommitBreakdown.LoopbackCluster.StartAsync(variant);
                    await CommitBreakdown.WriteAsync(cluster.Leader, "warm", WarmUp, 8);
                    var writes = outstanding == 1 ? sequentialWrites : concurrentWrites;
                    var started = Stopwatch.GetTimestamp();
                    var latencies = await CommitBreakdown.WriteAsync(cluster.Leader, "w", writes, outstanding);
                    var rate = writes / Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var p50 = CommitBreakdown.Percentile(latencies, 50);
                    var p99 = CommitBreakdown.Percentile(latencies, 99);
                    results.Add(new Row(transport, outstanding, rate, p50, p99));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round} {transport,-5} {outstanding,2} outstanding: {rate,7:0} writes/s, p50 {p50:0.000} ms, p99 {p99:0.000} ms (load average {LoadAverage()})"));
                }
            }
        }
        Console.WriteLine("median over the rounds (tls / plain):");
        foreach (var outstanding in new[] { 1, 32 })
        {
            var plain = results.Where(r => r.Transport == "plain" && r.Outstanding == outstanding).ToList();
            var tls = results.Where(r => r.Transport == "tls" && r.Outstanding == outstanding).ToList();
            double Median(List<Row> rows, Func<Row, double> pick) => CommitBreakdown.Percentile(rows.Select(pick).ToList(), 50);
            var (plainRate, tlsRate) = (Median(plain, r => r.WritesPerSecond), Median(tls, r => r.WritesPerSecond));
            var (plainP50, tlsP50) = (Median(plain, r => r.P50), Median(tls, r => r.P50));
            var (plainP99, tlsP99) = (Median(plain, r => r.P99), Median(tls, r => r.P99));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {outstanding,2} outstanding: plain {plainRate:0} writes/s p50 {plainP50:0.000} ms p99 {plainP99:0.000} ms; tls {tlsRate:0} writes/s p50 {tlsP50:0.000} ms p99 {tlsP99:0.000} ms; "
                + $"throughput ratio {tlsRate / plainRate:0.00}, p50 ratio {tlsP50 / plainP50:0.00}"));
        }
    }

    private sealed record Row(string Transport, int Outstanding, double WritesPerSecond, double P50, double P99);

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
