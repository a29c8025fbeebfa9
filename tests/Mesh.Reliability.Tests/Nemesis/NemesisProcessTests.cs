using System.Diagnostics;

namespace Mesh.Reliability.Tests.Nemesis;

public sealed class NemesisProcessTests
{
    private static async Task<bool> EventuallyAsync(Func<bool> condition, double seconds = 5)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
                return false;
            await Task.Delay(10);
        }
        return true;
    }

    /// <summary>A child that prints a numbered tick every 20 ms, so progress (or its absence) shows.</summary>
    private static NemesisProcess Ticker() =>
        NemesisProcess.Start("sh", ["-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.02; done"]);

    [Fact]
    public async Task Start_RunsTheChild()
    {
        await using var child = NemesisProcess.Start("sleep", ["30"]);
        Assert.False(child.HasExited);
        Assert.Equal(["30"], child.Arguments);
        Assert.True(await EventuallyAsync(() => child.State == ProcessRunState.Sleeping));
    }

    [Fact]
    public async Task Kill_IsSigkill()
    {
        await using var child = NemesisProcess.Start("sleep", ["30"]);
        await child.KillAsync();
        Assert.True(child.HasExited);
        Assert.Equal(128 + 9, child.ExitCode);
        Assert.Equal(ProcessRunState.Gone, child.State);
    }

    [Fact]
    public async Task PauseAndResume_StopAndContinueTheChild()
    {
        await using var child = Ticker();
        Assert.True(await EventuallyAsync(() => child.RecentOutput.Count > 0));

        child.Pause();
        Assert.True(await EventuallyAsync(() => child.State == ProcessRunState.Stopped));
        await Task.Delay(100); // let output already written drain
        var frozenAt = child.RecentOutput.Count;
        await Task.Delay(300);
        Assert.Equal(frozenAt, child.RecentOutput.Count);

        child.Resume();
        Assert.True(await EventuallyAsync(() => child.State != ProcessRunState.Stopped));
        Assert.True(await EventuallyAsync(() => child.RecentOutput.Count > frozenAt));
    }

    [Fact]
    public async Task KillWhilePaused_StillKills()
    {
        await using var child = NemesisProcess.Start("sleep", ["30"]);
        child.Pause();
        await child.KillAsync();
        Assert.True(child.HasExited);
    }

    [Fact]
    public async Task Restart_StartsTheSameCommandAgain_AsANewProcess()
    {
        await using var child = Ticker();
        var firstPid = child.Pid;
        Assert.True(await EventuallyAsync(() => child.RecentOutput.Any(l => l == "tick 1")));

        await child.RestartAsync();
        Assert.NotEqual(firstPid, child.Pid);
        Assert.Equal(1, child.Restarts);
        Assert.False(child.HasExited);
        Assert.Equal(ProcessRunState.Gone, NemesisProcess.StateOf(firstPid));
        // the second incarnation counts from 1 again
        Assert.True(await EventuallyAsync(() => child.RecentOutput.Count(l => l == "tick 1") == 2));
    }

    [Fact]
    public async Task Restart_AfterACrash_Works()
    {
        await using var child = NemesisProcess.Start("sleep", ["30"]);
        await child.KillAsync();
        await child.RestartAsync();
        Assert.False(child.HasExited);
    }

    [Fact]
    public async Task Dispose_KillsTheChild()
    {
        var child = NemesisProcess.Start("sleep", ["30"]);
        var pid = child.Pid;
        await child.DisposeAsync();
        Assert.Equal(ProcessRunState.Gone, NemesisProcess.StateOf(pid));
    }
}
