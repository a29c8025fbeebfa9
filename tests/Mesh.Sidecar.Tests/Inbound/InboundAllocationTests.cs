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
    public static TheoryData<string> Stages => [.. StagedSidecar.InboundStages.Select(s => s.ToString())];

    [Theory]
    [MemberData(nameof(Stages))]
    public void HandleAsync_EveryStageUpTo_AllocatesNothingPerRequest(string stage)
    {
        using var sidecar = StagedSidecar.Create(RequestDirection.Inbound, Enum.Parse<SidecarStage>(stage), new FakeTimeProvider(DateTimeOffset.UnixEpoch));

        var bytes = sidecar.AllocatedBytesPerRequest(requests: 20_000);

        output.WriteLine($"inbound up to {stage}: {bytes:0.##} B/request");
        Assert.Equal(0, bytes);
    }
}
