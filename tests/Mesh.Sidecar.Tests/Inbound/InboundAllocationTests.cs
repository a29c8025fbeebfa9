using Mesh.Sidecar.Core;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Mesh.Sidecar.Tests.Inbound;

/// <summary>
/// What the inbound handler's own stages allocate per request, stage by stage over a forwarder
/// that answers at once (StagedSidecar). Allocation counts are deterministic, so they are asserted;
/// the time they take is the benchmark's (tests/bench/Mesh.Benchmarks, SidecarStageBenchmarks).
/// </summary>
public sealed class InboundAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// With an app that makes the handler wait, what goes to the heap is HandleAsync's state
    /// machine (its Task is what ASP.NET Core awaits), nothing else. Bytes, not time.
    /// </summary>
    private const int StateMachineBytes = 256;

    public static TheoryData<SidecarStage> Stages => [.. StagedSidecar.InboundStages];

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_EveryStageUpTo_AllocatesNothingPerRequest(SidecarStage stage)
    {
        using var sidecar = StagedSidecar.Create(RequestDirection.Inbound, stage, new FakeTimeProvider(DateTimeOffset.UnixEpoch));

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"inbound up to {stage}: {bytes:0.##} B/request");
        Assert.Equal(0, bytes);
    }

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_UpstreamThatWaits_AllocatesOnlyItsStateMachines(SidecarStage stage)
    {
        using var sidecar = StagedSidecar.Create(RequestDirection.Inbound, stage, new FakeTimeProvider(DateTimeOffset.UnixEpoch), upstreamWaits: true);

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"inbound up to {stage}, upstream waits: {bytes:0.##} B/request");
        Assert.InRange(bytes, 0, StateMachineBytes);
    }
}
