using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Reliability.Tests.Nemesis;

public sealed class NemesisRunnerTests(ITestOutputHelper output)
{
    /// <summary>Writes down what it was asked to do, and when (on <paramref name="time"/>, if given).</summary>
    private sealed class ScriptCluster(TimeProvider? time = null) : INemesisCluster
    {
        private readonly DateTimeOffset _start = (time ?? TimeProvider.System).GetUtcNow();

        public List<string> Calls { get; } = [];

        /// <summary>When each call came, after the start.</summary>
        public List<TimeSpan> At { get; } = [];

        private Task Note(string call)
        {
            lock (Calls)
            {
                Calls.Add(call);
                At.Add((time ?? TimeProvider.System).GetUtcNow() - _start);
            }
            return Task.CompletedTask;
        }

        public Task IsolateAsync(IReadOnlyList<int> nodes) => Note($"isolate {string.Join(",", nodes)}");

        public Task HealAsync(IReadOnlyList<int> nodes) => Note($"heal {string.Join(",", nodes)}");

        public Task KillAsync(int node) => Note($"kill {node}");

        public Task RestartAsync(int node) => Note($"restart {node}");

        public Task PauseAsync(int node) => Note($"pause {node}");

        public Task ResumeAsync(int node) => Note($"resume {node}");

        public Task SetLatencyAsync(int node, TimeSpan latency) => Note($"latency {node} {latency.TotalMilliseconds}");

        public Task KillAndTearAsync(int node, int bytes) => Note($"tear {node} {bytes}");

        public async Task<int?> KillLeaderAsync()
        {
            await Note("kill leader");
            return 0;
        }

        public Task RestartDownAsync() => Note("restart down");

        public async Task<int?> IsolateLeaderAsync()
        {
            await Note("isolate leader");
            return 0;
        }

        public Task CutLinkAsync(int a, int b, bool bothWays) => Note($"cut {a}{(bothWays ? "<->" : "->")}{b}");

        public Task FlapAsync(IReadOnlyList<int> nodes) => Note($"flap {string.Join(",", nodes)}");
    }

    [Fact]
    public async Task Run_AppliesEveryStepInOrder_AtItsTime_AndLogsTheSeedFirst()
    {
        var schedule = FaultSchedule.Generate(new FaultScheduleOptions(
            Seed: 5, Duration: TimeSpan.FromMilliseconds(300), Kinds: [FaultKind.Crash], CycleLength: TimeSpan.FromMilliseconds(100), Nodes: 3));
        var time = new ScriptedTime();
        var cluster = new ScriptCluster(time);
        var log = new List<string>();

        var run = NemesisRunner.RunAsync(schedule, cluster, log.Add, time);
        // The clock moves only while the runner waits, straight to the next step's time.
        var start = time.GetUtcNow();
        foreach (var at in schedule.Steps.Select(s => s.At).Where(at => at > TimeSpan.Zero).Distinct())
        {
            await time.WaitingAsync();
            time.Advance(at - (time.GetUtcNow() - start));
        }
        await run;

        Assert.Equal(schedule.Steps.SkipLast(1).Select(s => s.At), cluster.At.Take(6));
        Assert.All(cluster.At.Skip(6), at => Assert.Equal(schedule.Steps[^1].At, at));
        Assert.StartsWith("fault schedule: seed=5 ", log[0], StringComparison.Ordinal);
        Assert.Equal(schedule.Steps.Count, log.Count - 1);
        var expected = schedule.Steps.SkipLast(1).Select(s => $"{(s.Action == FaultAction.Kill ? "kill" : "restart")} {s.Nodes[0]}");
        Assert.Equal(expected, cluster.Calls.Take(6));
        Assert.Equal(["heal 0,1,2", "resume 0", "latency 0 0", "resume 1", "latency 1 0", "resume 2", "latency 2 0", "restart down"], cluster.Calls.Skip(6));
        output.WriteLine(string.Join("\n", log));
    }

    [Fact]
    public async Task EachAction_MapsToTheClusterCall()
    {
        var cluster = new ScriptCluster();
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.Isolate, [0, 2]));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.Pause, [1]));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.Resume, [1]));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.AddLatency, [1], 150));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.RemoveLatency, [1]));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.KillAndTear, [2], 17));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.KillLeader, []));
        await NemesisRunner.ApplyAsync(cluster, new FaultStep(TimeSpan.Zero, FaultAction.RestartDown, []));
        Assert.Equal(["isolate 0,2", "pause 1", "resume 1", "latency 1 150", "latency 1 0", "tear 2 17", "kill leader", "restart down"], cluster.Calls);
    }
}
