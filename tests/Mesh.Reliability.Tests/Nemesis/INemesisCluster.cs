using Mesh.Testing;
namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>
/// What the nemesis can do to a cluster under test, node by node (0-based). The real harness
/// implements it with one <see cref="NemesisProcess"/> per node, a <see cref="FaultyTcpRelay"/>
/// in front of every node's Raft port that cuts each directed peer link on its own
/// (<see cref="PeerLinks"/>: isolating a node = holding every byte into and out of it), and
/// <see cref="TornWrite"/> on the node's data directory.
/// </summary>
internal interface INemesisCluster
{
    Task IsolateAsync(IReadOnlyList<int> nodes);

    Task HealAsync(IReadOnlyList<int> nodes);

    Task KillAsync(int node);

    Task RestartAsync(int node);

    Task PauseAsync(int node);

    Task ResumeAsync(int node);

    Task SetLatencyAsync(int node, TimeSpan latency);

    /// <summary>Kills the node that leads now, if any (returns it, or null when none leads).</summary>
    Task<int?> KillLeaderAsync();

    /// <summary>Restarts every node that is down (killed, torn, or exited by itself).</summary>
    Task RestartDownAsync();

    /// <summary>Kill the node and cut <paramref name="bytes"/> off its newest data file (it stays down).</summary>
    Task KillAndTearAsync(int node, int bytes);

    /// <summary>Cuts the node that leads now off from every peer (returns it, or null when none leads).</summary>
    Task<int?> IsolateLeaderAsync();

    /// <summary>Cuts the peer link between <paramref name="a"/> and <paramref name="b"/>, in one direction (a to b) or both.</summary>
    Task CutLinkAsync(int a, int b, bool bothWays);

    /// <summary>Isolates <paramref name="nodes"/> and restores them, over and over, until <see cref="HealAsync"/>.</summary>
    Task FlapAsync(IReadOnlyList<int> nodes);
}

/// <summary>Plays a <see cref="FaultSchedule"/> against a cluster in real time, logging each step.</summary>
internal static class NemesisRunner
{
    public static async Task RunAsync(FaultSchedule schedule, INemesisCluster cluster, Action<string> log, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        log(schedule.Describe());
        var start = time.GetTimestamp();
        foreach (var step in schedule.Steps)
        {
            var wait = step.At - time.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, time, cancellationToken);
            log($"nemesis: {step}");
            await ApplyAsync(cluster, step, log);
        }
    }

    public static async Task ApplyAsync(INemesisCluster cluster, FaultStep step, Action<string>? log = null)
    {
        switch (step.Action)
        {
            case FaultAction.Isolate:
                await cluster.IsolateAsync(step.Nodes);
                return;
            case FaultAction.Heal:
                // The final heal undoes everything, whatever is still in effect.
                await cluster.HealAsync(step.Nodes);
                foreach (var node in step.Nodes)
                {
                    await cluster.ResumeAsync(node);
                    await cluster.SetLatencyAsync(node, TimeSpan.Zero);
                }
                await cluster.RestartDownAsync();
                return;
            case FaultAction.KillLeader:
                var leader = await cluster.KillLeaderAsync();
                log?.Invoke($"nemesis: killed leader {(leader is { } l ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(none: no leader)")}");
                return;
            case FaultAction.RestartDown:
                await cluster.RestartDownAsync();
                return;
            case FaultAction.IsolateLeader:
                var isolated = await cluster.IsolateLeaderAsync();
                log?.Invoke($"nemesis: isolated leader {(isolated is { } i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(none: no leader)")}");
                return;
            case FaultAction.Bridge:
                await cluster.CutLinkAsync(step.Nodes[0], step.Nodes[1], bothWays: true);
                return;
            case FaultAction.CutOneWay:
                await cluster.CutLinkAsync(step.Nodes[0], step.Nodes[1], bothWays: false);
                return;
            case FaultAction.Flap:
                await cluster.FlapAsync(step.Nodes);
                return;
        }
        foreach (var node in step.Nodes)
        {
            await (step.Action switch
            {
                FaultAction.Kill => cluster.KillAsync(node),
                FaultAction.Restart => cluster.RestartAsync(node),
                FaultAction.Pause => cluster.PauseAsync(node),
                FaultAction.Resume => cluster.ResumeAsync(node),
                FaultAction.AddLatency => cluster.SetLatencyAsync(node, TimeSpan.FromMilliseconds(step.Amount)),
                FaultAction.RemoveLatency => cluster.SetLatencyAsync(node, TimeSpan.Zero),
                FaultAction.KillAndTear => cluster.KillAndTearAsync(node, step.Amount),
                _ => throw new ArgumentOutOfRangeException(nameof(step), step.Action, "unknown fault action"),
            });
        }
    }
}
