using System.Collections;
using Xunit.Abstractions;

namespace Mesh.Reliability.Tests.Nemesis;

public sealed class FaultScheduleTests(ITestOutputHelper output)
{
    private static FaultScheduleOptions Options(int seed, params FaultKind[] kinds) =>
        new(seed, TimeSpan.FromSeconds(30), kinds.Length == 0 ? Enum.GetValues<FaultKind>() : kinds, TimeSpan.FromSeconds(5), Nodes: 5);

    [Fact]
    public void SameSeedAndParameters_GiveTheSameSteps()
    {
        var first = FaultSchedule.Generate(Options(42));
        var second = FaultSchedule.Generate(Options(42));
        output.WriteLine(first.Describe());
        Assert.Equal(first.Steps, second.Steps);
        Assert.Equal(first.Describe(), second.Describe());
    }

    [Fact]
    public void DifferentSeeds_GiveDifferentSteps() =>
        Assert.NotEqual(FaultSchedule.Generate(Options(1)).Steps, FaultSchedule.Generate(Options(2)).Steps);

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(123456)]
    public void EveryFault_IsUndoneWithinItsCycle_AndTheRunEndsHealed(int seed)
    {
        var options = Options(seed);
        var steps = FaultSchedule.Generate(options).Steps;
        Assert.Equal(steps.OrderBy(s => s.At), steps);
        Assert.All(steps, s => Assert.InRange(s.At, TimeSpan.Zero, options.Duration));

        var pairs = steps.SkipLast(1).Chunk(2).ToList();
        Assert.Equal((int)(options.Duration / options.CycleLength), pairs.Count);
        for (var cycle = 0; cycle < pairs.Count; cycle++)
        {
            var (inject, recover) = (pairs[cycle][0], pairs[cycle][1]);
            var cycleStart = options.CycleLength * cycle;
            Assert.InRange(inject.At, cycleStart, cycleStart + (options.CycleLength / 4));
            Assert.InRange(recover.At, inject.At + (options.CycleLength / 4), cycleStart + (options.CycleLength * 3 / 4));
            if (inject.Action == FaultAction.KillLeader)
            {
                // the leader is chosen when the step runs; whatever is down then comes back
                Assert.Empty(inject.Nodes);
                Assert.Equal(FaultAction.RestartDown, recover.Action);
                continue;
            }
            if (inject.Action == FaultAction.IsolateLeader)
            {
                Assert.Empty(inject.Nodes);
                Assert.Equal(FaultAction.Heal, recover.Action);
                continue;
            }
            Assert.Equal(inject.Nodes, recover.Nodes);
            if (inject.Action is FaultAction.Bridge or FaultAction.CutOneWay)
            {
                // one link between two distinct nodes: every node keeps a majority path but that one
                Assert.Equal(2, inject.Nodes.Distinct().Count());
                Assert.Equal(FaultAction.Heal, recover.Action);
                continue;
            }
            if (inject.Nodes.Count == options.Nodes)
                Assert.Equal(FaultAction.Kill, inject.Action); // ClusterCrash: everything down, then up
            else
                Assert.InRange(inject.Nodes.Count, 1, (options.Nodes - 1) / 2); // a minority: quorum survives
        }

        var last = steps[^1];
        Assert.Equal(FaultAction.Heal, last.Action);
        Assert.Equal(Enumerable.Range(0, options.Nodes), last.Nodes);
    }

    [Fact]
    public void OnlyTheRequestedKinds_AreUsed()
    {
        var actions = FaultSchedule.Generate(Options(9, FaultKind.Pause)).Steps.SkipLast(1).Select(s => s.Action).Distinct().Order();
        Assert.Equal([FaultAction.Pause, FaultAction.Resume], actions);
    }

    [Fact]
    public void Describe_PrintsTheSeed_ParametersAndReplayCommand()
    {
        var text = FaultSchedule.Generate(Options(31337, FaultKind.Partition, FaultKind.Crash)).Describe();
        Assert.Contains("seed=31337 duration=30s cycle=5s nodes=5 faults=partition,crash", text, StringComparison.Ordinal);
        Assert.Contains("MESH_RELIABILITY_SEED=31337 MESH_RELIABILITY_DURATION=30s", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplayCommand_ReadBackFromTheEnvironment_GivesTheSameSchedule()
    {
        var original = FaultSchedule.Generate(Options(777, FaultKind.TornWrite, FaultKind.Latency));
        var environment = new Hashtable();
        foreach (var assignment in ReliabilitySettings.ReplayCommand(original.Options).Split(' '))
        {
            var parts = assignment.Split('=', 2);
            environment[parts[0]] = parts[1];
        }
        var replayed = FaultSchedule.Generate(ReliabilitySettings.FromEnvironment(environment));
        Assert.Equal(original.Steps, replayed.Steps);
    }

    [Fact]
    public void ScheduleFromTheProcessEnvironment_IsPrinted()
    {
        // The entry point the live-cluster run will use; run with MESH_RELIABILITY_* set to see a replay.
        var schedule = FaultSchedule.Generate(ReliabilitySettings.FromEnvironment());
        output.WriteLine(schedule.Describe());
        Assert.Equal(FaultAction.Heal, schedule.Steps[^1].Action);
    }

    [Fact]
    public void UnsetEnvironment_UsesDefaults_WithAFreshSeed()
    {
        var options = ReliabilitySettings.FromEnvironment(new Hashtable());
        Assert.Equal(ReliabilitySettings.Defaults.Duration, options.Duration);
        Assert.Equal(ReliabilitySettings.Defaults.Kinds, options.Kinds);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("2m", 120_000)]
    public void Durations_ParseInTheUsualUnits(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ReliabilitySettings.ParseDuration(text));

    [Theory]
    [InlineData("15", "(write 15s)")]
    [InlineData("00:01:00", "(write 1m)")]
    public void Durations_OtherForms_FailNamingTheMeshSpelling(string text, string hint) =>
        Assert.Contains(hint, Assert.Throws<FormatException>(() => ReliabilitySettings.ParseDuration(text)).Message);
}
