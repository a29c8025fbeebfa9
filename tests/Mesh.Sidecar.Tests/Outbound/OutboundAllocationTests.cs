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
    public static TheoryData<string> Stages => [.. StagedSidecar.OutboundStages.Select(s => s.ToString())];

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_EveryStageUpTo_AllocatesNothingPerRequest(string stage)
    {
        // A clock that stands still: the route's deadline slice (RouteDeadline) is made once, not every 1% of the timeout.
        using var sidecar = StagedSidecar.Create(RequestDirection.Outbound, Enum.Parse<SidecarStage>(stage), new FakeTimeProvider(DateTimeOffset.UnixEpoch));

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"outbound up to {stage}: {bytes:0.##} B/request");
        Assert.Equal(0, bytes);
    }
}
