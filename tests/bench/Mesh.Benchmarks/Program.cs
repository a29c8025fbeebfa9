using BenchmarkDotNet.Running;
using Mesh.Benchmarks;

// `sidecar FILE` and `upstream PORT` run processes for load tests (tests/bench/telemetry-bench.sh);
// `commit-breakdown [WRITES] [OUTSTANDING] [WARMUP]` times the registry's Raft commit path (docs/benchmarks.md);
// anything else runs the BenchmarkDotNet classes in this assembly (pick with --filter).
if (args is ["sidecar", var file])
    await LoadTestProcesses.RunSidecarAsync(file);
else if (args is ["commit-breakdown", ..])
{
    var (writes, outstanding, warmUp) = Mesh.Benchmarks.Registry.CommitBreakdown.Parse(args);
    await Mesh.Benchmarks.Registry.CommitBreakdown.RunAsync(writes, outstanding, warmUp);
}
else if (args is ["upstream", var port])
    await LoadTestProcesses.RunUpstreamAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
