using System.Runtime.CompilerServices;
using Mesh.Common.Time;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Registry.Client.Tests.Time;

/// <summary>The one watch-and-retry loop, on scripted time: every delay is checked to the tick.</summary>
public sealed class RetryLoopTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly Backoff NoJitter = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400), Jitter: 0);

    [Fact]
    public async Task RunAsync_FailingAttempts_WaitTheDoublingBackoffUpToTheMax()
    {
        var time = new ScriptedTime();
        var attempts = new List<DateTimeOffset>();
        var delays = new List<TimeSpan>();
        var done = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();
        var loop = new RetryLoop(NoJitter, time);

        var run = loop.RunAsync((_, _) =>
        {
            attempts.Add(time.GetUtcNow());
            done.Release();
            return Task.FromException(new IOException("registry down"));
        }, (_, delay) => delays.Add(delay), stop.Token);
        foreach (var delay in new[] { 100, 200, 400, 400 })
        {
            await time.AdvanceWhenWaitingAsync(TimeSpan.FromMilliseconds(delay));
            Assert.True(await done.WaitAsync(Wait));
        }
        await stop.CancelAsync();
        await run;

        var start = attempts[0];
        Assert.Equal([0, 100, 300, 700, 1100], attempts.Select(a => (a - start).TotalMilliseconds));
        Assert.Equal([100, 200, 400, 400, 400], delays.Select(d => d.TotalMilliseconds));
    }

    [Fact]
    public async Task RunAsync_AWaitShorterThanTheBackoff_DoesNotRetry()
    {
        var time = new ScriptedTime();
        var attempts = 0;
        using var stop = new CancellationTokenSource();

        var run = new RetryLoop(NoJitter, time).RunAsync((_, _) =>
        {
            Interlocked.Increment(ref attempts);
            return Task.FromException(new IOException());
        }, null, stop.Token);
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromMilliseconds(99));
        var during = Volatile.Read(ref attempts);
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, during);
    }

    [Fact]
    public async Task RunAsync_Progress_StartsTheBackoffOver()
    {
        var time = new ScriptedTime();
        var delays = new List<TimeSpan>();
        var attempt = 0;
        using var stop = new CancellationTokenSource();

        var run = new RetryLoop(NoJitter, time).RunAsync((progress, _) =>
        {
            // Attempts 1 and 2 fail at once; attempt 3 makes progress before failing.
            if (++attempt == 3)
                progress();
            return Task.FromException(new IOException());
        }, (_, delay) => delays.Add(delay), stop.Token);
        for (var i = 0; i < 2; i++)
        {
            await time.WaitingAsync();
            time.Advance(delays[^1]);
        }
        await time.WaitingAsync();
        await stop.CancelAsync();
        await run;

        Assert.Equal([100, 200, 100], delays.Select(d => d.TotalMilliseconds));
    }

    [Fact]
    public async Task RunAsync_AFailureItMayNotRetry_IsThrown()
    {
        var attempts = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => new RetryLoop(NoJitter, new FakeTimeProvider()).RunAsync((_, _) =>
        {
            attempts++;
            return Task.FromException(new InvalidOperationException("a bug, not an outage"));
        }, null, CancellationToken.None, retryable: e => e is IOException));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RunAsync_CancelledWhileWaiting_EndsQuietly()
    {
        var time = new ScriptedTime();
        using var stop = new CancellationTokenSource();

        var run = new RetryLoop(NoJitter, time).RunAsync((_, _) => Task.FromException(new IOException()), null, stop.Token);
        Assert.False(run.IsCompleted);
        await stop.CancelAsync();

        await run.WaitAsync(Wait);
        Assert.True(run.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RunAsync_AttemptThatReturns_EndsTheLoop()
    {
        var attempts = 0;

        await new RetryLoop(NoJitter, new FakeTimeProvider()).RunAsync((_, _) =>
        {
            attempts++;
            return Task.CompletedTask;
        }, null, CancellationToken.None);

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task WatchAsync_AfterAFailure_RestartsTheWatchAndAppliesEveryItem()
    {
        var time = new ScriptedTime();
        var applied = new List<int>();
        var watches = 0;
        var failures = new List<string>();

        async IAsyncEnumerable<int> Watch([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var first = ++watches == 1;
            await Task.Yield();
            yield return first ? 1 : 2;
            if (first)
                throw new IOException("connection reset");
            yield return 3;
        }

        var run = new RetryLoop(NoJitter, time).WatchAsync(Watch, applied.Add, (e, _) => failures.Add(e.Message), CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromMilliseconds(100));
        await run.WaitAsync(Wait);

        Assert.Equal([1, 2, 3], applied);
        Assert.Equal(["connection reset"], failures);
        Assert.Equal(2, watches);
    }

    [Fact]
    public async Task RetryAsync_RetriesUntilTheCallSucceeds()
    {
        var time = new ScriptedTime();
        var calls = 0;

        var result = new RetryLoop(NoJitter, time).RetryAsync(_ =>
            ++calls < 3 ? Task.FromException<string>(new IOException()) : Task.FromResult("answer"),
            e => e is IOException, null, CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromMilliseconds(100));
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromMilliseconds(200));

        Assert.Equal("answer", await result.WaitAsync(Wait));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task RetryAsync_Cancelled_Throws()
    {
        using var stop = new CancellationTokenSource();
        var time = new ScriptedTime();

        var result = new RetryLoop(NoJitter, time).RetryAsync(_ => Task.FromException<int>(new IOException()), _ => true, null, stop.Token);
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => result.WaitAsync(Wait));
    }

    [Fact]
    public async Task Jitter_ComesFromTheGivenRandom_SoARunReplays()
    {
        static async Task<List<TimeSpan>> DelaysAsync(int seed)
        {
            var time = new ScriptedTime();
            var delays = new List<TimeSpan>();
            using var stop = new CancellationTokenSource();
            var loop = new RetryLoop(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), Jitter: 0.5), time, new Random(seed));
            var run = loop.RunAsync((_, _) => Task.FromException(new IOException()), (_, d) => delays.Add(d), stop.Token);
            for (var i = 0; i < 3; i++)
                await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(1));
            await stop.CancelAsync();
            await run;
            return delays;
        }

        var first = await DelaysAsync(7);

        Assert.Equal(first, await DelaysAsync(7));
        Assert.All(first, d => Assert.InRange(d, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)));
        Assert.True(first.Distinct().Count() > 1);
    }
}
