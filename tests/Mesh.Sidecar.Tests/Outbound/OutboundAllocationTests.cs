using Mesh.Sidecar.Core;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Mesh.Sidecar.Tests.Outbound;

/// <summary>
/// What the outbound handler's own stages allocate per request, stage by stage over a forwarder
/// that answers at once (StagedSidecar). Allocation counts are deterministic, so they are asserted;
/// the time they take is the benchmark's (tests/bench/Mesh.Benchmarks, SidecarStageBenchmarks).
/// </summary>
public sealed class OutboundAllocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// With an upstream that makes the handler wait, what goes to the heap are the state machines
    /// that were suspended: HandleAsync's (its Task is what ASP.NET Core awaits) and AttemptAsync's.
    /// A route with retries costs nothing more while no retry happens: the first attempt runs
    /// outside Polly, whose retry strategy (320 B of state machines) starts only for a retry.
    /// Bytes, not time: a new allocation on the way fails this.
    /// </summary>
    private const int StateMachineBytes = 536;

    public static TheoryData<SidecarStage> Stages => [.. StagedSidecar.OutboundStages];

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_EveryStageUpTo_AllocatesNothingPerRequest(SidecarStage stage)
    {
        // A clock that stands still: the route's deadline slice (RouteDeadline) is made once, not every 1% of the timeout.
        using var sidecar = StagedSidecar.Create(RequestDirection.Outbound, stage, new FakeTimeProvider(DateTimeOffset.UnixEpoch));

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"outbound up to {stage}: {bytes:0.##} B/request");
        Assert.Equal(0, bytes);
    }

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_UpstreamThatWaits_AllocatesOnlyItsStateMachines(SidecarStage stage)
    {
        using var sidecar = StagedSidecar.Create(RequestDirection.Outbound, stage, new FakeTimeProvider(DateTimeOffset.UnixEpoch), upstreamWaits: true);

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"outbound up to {stage}, upstream waits: {bytes:0.##} B/request");
        Assert.InRange(bytes, 0, StateMachineBytes);
    }
}
