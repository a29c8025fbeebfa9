using Mesh.Registry.ZooKeeper;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>A node counts as cut off from its quorum once it has been without a leader for the whole grace, not during an election.</summary>
public sealed class ZkCutOffClockTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void WithoutALeader_ForTheWholeGrace_IsCutOff_Once_AndServingAgainWithOne()
    {
        var clock = new ZkCutOffClock(_time, TimeSpan.FromSeconds(1));

        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: false));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: false));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(ZkCutOffChange.CutOff, clock.Look(serving: false));
        Assert.True(clock.CutOff);
        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: false));

        Assert.Equal(ZkCutOffChange.ServingAgain, clock.Look(serving: true));
        Assert.False(clock.CutOff);
        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: true));
    }

    [Fact]
    public void AnElection_ShorterThanTheGrace_NeverCutsOff_AndTheNextOneStartsItsOwnGrace()
    {
        var clock = new ZkCutOffClock(_time, TimeSpan.FromSeconds(1));

        clock.Look(serving: false);
        _time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: true));
        clock.Look(serving: false);
        _time.Advance(TimeSpan.FromMilliseconds(800));

        Assert.Equal(ZkCutOffChange.None, clock.Look(serving: false));
        Assert.False(clock.CutOff);
    }
}
