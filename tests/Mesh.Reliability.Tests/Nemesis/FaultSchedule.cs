using System.Globalization;
using System.Text;

namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>The kinds of fault a schedule may use.</summary>
internal enum FaultKind
{
    /// <summary>Isolate a minority of nodes (relays black-holed), then heal.</summary>
    Partition,

    /// <summary>SIGKILL a node, then restart it.</summary>
    Crash,

    /// <summary>SIGSTOP a node, then SIGCONT it.</summary>
    Pause,

    /// <summary>Add latency on a node's links, then remove it.</summary>
    Latency,

    /// <summary>SIGKILL a node, tear the last bytes of its newest data file, then restart it.</summary>
    TornWrite,

    /// <summary>SIGKILL whichever node leads when the step runs, then restart it.</summary>
    LeaderCrash,

    /// <summary>SIGKILL every node at once, then restart them all.</summary>
    ClusterCrash,

    /// <summary>Cut whichever node leads when the step runs off from every peer, then heal.</summary>
    LeaderIsolation,

    /// <summary>Cut two nodes off from each other only: a third node still sees both (a bridge), then heal.</summary>
    Bridge,

    /// <summary>Isolate a minority, restore it, isolate it again, every few hundred ms, until healed.</summary>
    Flap,

    /// <summary>Hold the bytes from one node to another (one direction only), then heal.</summary>
    OneWay,
}

/// <summary>One thing the nemesis does to the cluster.</summary>
internal enum FaultAction
{
    Isolate,
    Heal,
    Kill,
    Restart,
    Pause,
    Resume,
    AddLatency,
    RemoveLatency,
    KillAndTear,

    /// <summary>Kill the node that leads at that moment (<see cref="FaultStep.Nodes"/> is empty).</summary>
    KillLeader,

    /// <summary>Restart every node that is down (<see cref="FaultStep.Nodes"/> is empty).</summary>
    RestartDown,

    /// <summary>Isolate the node that leads at that moment (<see cref="FaultStep.Nodes"/> is empty).</summary>
    IsolateLeader,

    /// <summary>Cut the two <see cref="FaultStep.Nodes"/> off from each other, both ways.</summary>
    Bridge,

    /// <summary>Flap the isolation of <see cref="FaultStep.Nodes"/> until the next Heal.</summary>
    Flap,

    /// <summary>Hold the bytes from <see cref="FaultStep.Nodes"/>[0] to [1].</summary>
    CutOneWay,
}

/// <summary>
/// Do <see cref="Action"/> to <see cref="Nodes"/> (0-based) at <see cref="At"/> after the start.
/// <see cref="Amount"/> is the latency in milliseconds (AddLatency) or the bytes to tear (KillAndTear).
/// </summary>
internal sealed record FaultStep(TimeSpan At, FaultAction Action, IReadOnlyList<int> Nodes, int Amount = 0)
{
    public override string ToString() =>
        $"{At.TotalSeconds,7:0.000}s {Action} [{string.Join(",", Nodes)}]{(Amount != 0 ? $" {Amount}" : "")}";

    public bool Equals(FaultStep? other) =>
        other is not null && At == other.At && Action == other.Action && Amount == other.Amount && Nodes.SequenceEqual(other.Nodes);

    public override int GetHashCode() => HashCode.Combine(At, Action, Amount, Nodes.Count);
}

/// <summary>The parameters of a schedule: with the same values, the same steps.</summary>
internal sealed record FaultScheduleOptions(int Seed, TimeSpan Duration, IReadOnlyList<FaultKind> Kinds, TimeSpan CycleLength, int Nodes = 3)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"seed={Seed} duration={ReliabilitySettings.Format(Duration)} cycle={ReliabilitySettings.Format(CycleLength)} nodes={Nodes} faults={string.Join(",", Kinds).ToLowerInvariant()}");
}

/// <summary>
/// A deterministic fault plan: the run is cut into cycles of <see cref="FaultScheduleOptions.CycleLength"/>;
/// each cycle injects one fault of a randomly chosen kind on a random minority of nodes early in
/// the cycle, undoes it before three quarters of the cycle, and leaves the rest quiet so the
/// cluster can recover. A final Heal at the end undoes anything left. All randomness comes from
/// the seed, so printing <see cref="Describe"/> is enough to replay a run.
/// </summary>
internal sealed class FaultSchedule
{
    private FaultSchedule(FaultScheduleOptions options, IReadOnlyList<FaultStep> steps)
    {
        Options = options;
        Steps = steps;
    }

    public FaultScheduleOptions Options { get; }

    public IReadOnlyList<FaultStep> Steps { get; }

    public static FaultSchedule Generate(FaultScheduleOptions options)
    {
        if (options.Kinds.Count == 0)
            throw new ArgumentException("at least one fault kind is needed", nameof(options));
        if (options.Nodes < 1 || options.CycleLength <= TimeSpan.Zero || options.Duration <= TimeSpan.Zero)
            throw new ArgumentException($"invalid schedule parameters: {options}", nameof(options));

        var random = new Random(options.Seed);
        var cycle = options.CycleLength.Ticks;
        var steps = new List<FaultStep>();
        for (long start = 0; start + cycle <= options.Duration.Ticks; start += cycle)
        {
            var kind = options.Kinds[random.Next(options.Kinds.Count)];
            var nodes = PickMinority(random, options.Nodes);
            var inject = start + (long)(random.NextDouble() * cycle / 4);
            var recover = inject + (cycle / 4) + (long)(random.NextDouble() * ((start + (cycle * 3 / 4)) - inject - (cycle / 4)));
            var (on, off, amount) = kind switch
            {
                FaultKind.Partition => (FaultAction.Isolate, FaultAction.Heal, 0),
                FaultKind.Crash => (FaultAction.Kill, FaultAction.Restart, 0),
                FaultKind.Pause => (FaultAction.Pause, FaultAction.Resume, 0),
                FaultKind.Latency => (FaultAction.AddLatency, FaultAction.RemoveLatency, 50 * random.Next(1, 11)),
                FaultKind.LeaderCrash => (FaultAction.KillLeader, FaultAction.RestartDown, 0),
                FaultKind.ClusterCrash => (FaultAction.Kill, FaultAction.Restart, 0),
                FaultKind.LeaderIsolation => (FaultAction.IsolateLeader, FaultAction.Heal, 0),
                FaultKind.Bridge => (FaultAction.Bridge, FaultAction.Heal, 0),
                FaultKind.Flap => (FaultAction.Flap, FaultAction.Heal, 0),
                FaultKind.OneWay => (FaultAction.CutOneWay, FaultAction.Heal, 0),
                _ => (FaultAction.KillAndTear, FaultAction.Restart, random.Next(1, 257)),
            };
            if (kind == FaultKind.TornWrite)
                nodes = [nodes[0]]; // tear one node at a time: more would risk losing acknowledged data by design
            else if (kind is FaultKind.LeaderCrash or FaultKind.LeaderIsolation)
                nodes = [];
            else if (kind is FaultKind.Bridge or FaultKind.OneWay && options.Nodes >= 2)
                nodes = Enumerable.Range(0, options.Nodes).OrderBy(_ => random.Next()).Take(2).ToArray(); // one-way: from [0] to [1]
            else if (kind == FaultKind.ClusterCrash)
                nodes = Enumerable.Range(0, options.Nodes).ToArray();
            steps.Add(new FaultStep(TimeSpan.FromTicks(inject), on, nodes, amount));
            steps.Add(new FaultStep(TimeSpan.FromTicks(recover), off, nodes));
        }
        steps.Add(new FaultStep(options.Duration, FaultAction.Heal, Enumerable.Range(0, options.Nodes).ToArray()));
        return new FaultSchedule(options, steps);
    }

    /// <summary>The parameters, how to replay them, and the steps: print this at the start of every run.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append("fault schedule: ").Append(Options).Append('\n');
        text.Append("replay with: ").Append(ReliabilitySettings.ReplayCommand(Options)).Append('\n');
        foreach (var step in Steps)
            text.Append("  ").Append(step).Append('\n');
        return text.ToString();
    }

    private static int[] PickMinority(Random random, int nodes)
    {
        var count = Math.Max(1, random.Next(1, ((nodes - 1) / 2) + 1));
        return Enumerable.Range(0, nodes).OrderBy(_ => random.Next()).Take(count).Order().ToArray();
    }
}
