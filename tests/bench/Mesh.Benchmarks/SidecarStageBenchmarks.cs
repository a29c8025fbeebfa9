// The sidecar's handlers end to end with their stages switched on one at a time, in request order,
// over a forwarder that answers 200 at once (StagedSidecar, shared with the allocation tests in
// Mesh.Sidecar.Tests): each row adds one stage to the row above, like tests/bench/proxy/run.sh's
// stage-* targets, so the difference between two rows is that stage's time and bytes per request.
// CPU/op (with --inProcess) adds what the stages leave to other threads (the access log's writer).
// Run: dotnet run -c Release --project tests/bench/Mesh.Benchmarks -- --filter '*boundStageBenchmarks*'
using BenchmarkDotNet.Attributes;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Tests.TestSupport;

namespace Mesh.Benchmarks;

[MemoryDiagnoser]
[Config(typeof(CpuConfig))]
public class OutboundStageBenchmarks
{
    private StagedSidecar? _sidecar;

    /// <summary>The last stage switched on (every one before it is on too).</summary>
    [ParamsSource(nameof(Stages))]
    public SidecarStage Stage { get; set; }

    public static IEnumerable<SidecarStage> Stages => StagedSidecar.OutboundStages;

    /// <summary>False: the forwarder answers at once; true: after the handler awaited it, as an upstream does (state machines on the heap).</summary>
    [Params(false, true)]
    public bool UpstreamWaits { get; set; }

    [GlobalSetup]
    public void Setup() => _sidecar = StagedSidecar.Create(RequestDirection.Outbound, Stage, upstreamWaits: UpstreamWaits);

    [GlobalCleanup]
    public void Cleanup() => _sidecar?.Dispose();

    [Benchmark]
    public Task Request()
    {
        CpuDiagnoser.Count();
        return _sidecar!.SendAsync();
    }
}

[MemoryDiagnoser]
[Config(typeof(CpuConfig))]
public class InboundStageBenchmarks
{
    private StagedSidecar? _sidecar;

    /// <summary>The last stage switched on (every one before it is on too).</summary>
    [ParamsSource(nameof(Stages))]
    public SidecarStage Stage { get; set; }

    public static IEnumerable<SidecarStage> Stages => StagedSidecar.InboundStages;

    /// <summary>False: the forwarder answers at once; true: after the handler awaited it, as an upstream does (state machines on the heap).</summary>
    [Params(false, true)]
    public bool UpstreamWaits { get; set; }

    [GlobalSetup]
    public void Setup() => _sidecar = StagedSidecar.Create(RequestDirection.Inbound, Stage, upstreamWaits: UpstreamWaits);

    [GlobalCleanup]
    public void Cleanup() => _sidecar?.Dispose();

    [Benchmark]
    public Task Request()
    {
        CpuDiagnoser.Count();
        return _sidecar!.SendAsync();
    }
}
