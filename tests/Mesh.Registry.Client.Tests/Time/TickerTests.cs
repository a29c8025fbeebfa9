using Mesh.Common.Time;

namespace Mesh.Registry.Client.Tests.Time;

/// <summary>The one periodic tick, on scripted time: ticks land exactly an interval after the previous one ended.</summary>
public sealed class TickerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task RunAsync_Ticking_CallsAtOnceThenEveryIntervalOnTheClock()
    {
        var time = new ScriptedTime();
        using var stop = new CancellationTokenSource();

        var (run, ticks, ticked) = Start(time, stop.Token, waitFirst: false);
        Assert.True(await ticked.WaitAsync(Wait));
        for (var i = 0; i < 3; i++)
        {
            await time.AdvanceWhenWaitingAsync(Interval);
            Assert.True(await ticked.WaitAsync(Wait));
        }
        await stop.CancelAsync();
        await run;

        Assert.Equal([0, 5, 10, 15], ticks.Select(t => (t - ticks[0]).TotalSeconds));
    }

    [Fact]
    public async Task RunAsync_WaitFirst_TicksOnlyAfterOneInterval()
    {
        var time = new ScriptedTime();
        var start = time.GetUtcNow();
        using var stop = new CancellationTokenSource();

        var (run, ticks, ticked) = Start(time, stop.Token, waitFirst: true);
        await time.AdvanceWhenWaitingAsync(Interval);
        Assert.True(await ticked.WaitAsync(Wait));
        await stop.CancelAsync();
        await run;

        Assert.Equal(start + Interval, Assert.Single(ticks));
    }

    [Fact]
    public async Task RunAsync_TickSaysStop_EndsWithoutWaitingAgain()
    {
        var calls = 0;

        await Ticker.RunAsync(Interval, _ => Task.FromResult(++calls < 1), CancellationToken.None, new ScriptedTime());

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task RunAsync_CancelledWhileWaiting_EndsQuietly()
    {
        var time = new ScriptedTime();
        using var stop = new CancellationTokenSource();

        var run = Ticker.RunAsync(Interval, _ => Task.CompletedTask, stop.Token, time);
        await time.WaitingAsync();
        await stop.CancelAsync();

        await run;
        Assert.True(run.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RunAsync_TickThrows_EndsWithTheFailure()
    {
        var failure = await Assert.ThrowsAsync<IOException>(() =>
            Ticker.RunAsync(Interval, _ => Task.FromException(new IOException("scrape failed")), CancellationToken.None, new ScriptedTime()));

        Assert.Equal("scrape failed", failure.Message);
    }

    /// <summary>A ticker that notes the clock at every tick and releases <c>Ticked</c>.</summary>
    private static (Task Run, List<DateTimeOffset> Ticks, SemaphoreSlim Ticked) Start(ScriptedTime time, CancellationToken stop, bool waitFirst)
    {
        var ticks = new List<DateTimeOffset>();
        var ticked = new SemaphoreSlim(0);
        var run = Ticker.RunAsync(Interval, _ =>
        {
            ticks.Add(time.GetUtcNow());
            ticked.Release();
            return Task.CompletedTask;
        }, stop, time, waitFirst);
        return (run, ticks, ticked);
    }
}
