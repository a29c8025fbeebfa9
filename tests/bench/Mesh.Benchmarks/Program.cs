using BenchmarkDotNet.Running;
using Mesh.Benchmarks;

// `sidecar FILE` and `upstream PORT` run processes for load tests (tests/bench/telemetry-bench.sh);
// `commit-breakdown [WRITES] [OUTSTANDING] [WARMUP] [--cluster-key]` times the registry's Raft commit path (docs/benchmarks.md);
// `peer-tls-cost [SEQ_WRITES] [CONC_WRITES] [ROUNDS]` measures it with and without the cluster key, interleaved;
// anything else runs the BenchmarkDotNet classes in this assembly (pick with --filter).
if (args is ["sidecar", var file])
    await LoadTestProcesses.RunSidecarAsync(file);
else if (args is ["commit-breakdown", ..])
{
    var (writes, outstanding, warmUp, key) = Mesh.Benchmarks.Registry.CommitBreakdown.Parse(args);
    await Mesh.Benchmarks.Registry.CommitBreakdown.RunAsync(writes, outstanding, warmUp, key);
}
else if (args is ["peer-tls-cost", ..])
{
    int Arg(int at, int otherwise) => args.Length > at ? int.Parse(args[at], System.Globalization.CultureInfo.InvariantCulture) : otherwise;
    await Mesh.Benchmarks.Registry.PeerTlsCost.RunAsync(sequentialWrites: Arg(1, 2000), concurrentWrites: Arg(2, 6000), rounds: Arg(3, 3));
}
else if (args is ["upstream", var port])
    await LoadTestProcesses.RunUpstreamAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
