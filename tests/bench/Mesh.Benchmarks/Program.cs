using BenchmarkDotNet.Running;
using Mesh.Benchmarks;

// `sidecar FILE` and `upstream PORT` run processes for load tests (tests/bench/telemetry-bench.sh);
// anything else runs the BenchmarkDotNet classes in this assembly (pick with --filter).
if (args is ["sidecar", var file])
    await LoadTestProcesses.RunSidecarAsync(file);
else if (args is ["upstream", var port])
    await LoadTestProcesses.RunUpstreamAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
