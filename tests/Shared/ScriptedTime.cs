using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Mesh.Testing;

/// <summary>
/// Fake time that says when code under test starts waiting (creates a timer), so a test moves the
/// clock only once the loop it drives is waiting: every step is deterministic, none is a sleep.
/// </summary>
internal sealed class ScriptedTime(DateTimeOffset? start = null) : FakeTimeProvider(start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _timers = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timers.Release();
        return timer;
    }

    /// <summary>Waits (in real time, at most 10 s) until one more timer was created since the last call.</summary>
    public async Task WaitingAsync() => Assert.True(await _timers.WaitAsync(Wait), "the code under test never started waiting");

    /// <summary>Moves the clock by <paramref name="by"/> once the code under test waits.</summary>
    public async Task AdvanceWhenWaitingAsync(TimeSpan by)
    {
        await WaitingAsync();
        Advance(by);
    }
}
