namespace Mesh.Common.Time;

/// <summary>
/// The one periodic tick: run a step, wait an interval on the <see cref="TimeProvider"/>, run it
/// again. The wait follows each step (a fixed delay, not a fixed rate), so a slow step never piles
/// ticks up. A step handles its own failures; one that escapes ends the loop with it. Stopping is
/// the caller's token: a cancelled ticker ends quietly, never with an exception. Retrying after a
/// failure with a backoff is <see cref="RetryLoop"/>'s job, not this one's.
/// </summary>
public static class Ticker
{
    /// <summary>
    /// Calls <paramref name="tick"/> every <paramref name="interval"/> until it returns false or
    /// <paramref name="cancellationToken"/> is cancelled; with <paramref name="waitFirst"/>, the
    /// first call comes after one interval rather than at once.
    /// </summary>
    public static async Task RunAsync(
        TimeSpan interval, Func<CancellationToken, Task<bool>> tick, CancellationToken cancellationToken,
        TimeProvider? time = null, bool waitFirst = false)
    {
        var clock = time ?? TimeProvider.System;
        try
        {
            if (waitFirst)
                await Task.Delay(interval, clock, cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested && await tick(cancellationToken).ConfigureAwait(false))
                await Task.Delay(interval, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Calls <paramref name="tick"/> every <paramref name="interval"/> until <paramref name="cancellationToken"/> is cancelled.</summary>
    public static Task RunAsync(
        TimeSpan interval, Func<CancellationToken, Task> tick, CancellationToken cancellationToken,
        TimeProvider? time = null, bool waitFirst = false) =>
        RunAsync(interval, async token =>
        {
            await tick(token).ConfigureAwait(false);
            return true;
        }, cancellationToken, time, waitFirst);
}
